"""The image cache of one api node: image files on local disk, filled on first
download, served to later ones, evicted least recently used.

``index`` the per-node SQLite record of what is cached and what is filling;
``store`` the directory layout (atomic rename on fill, the prefetch queue);
``fill`` one store read per image however many clients ask at once, and
readers that follow the growing file; ``serve`` the hook the download
handlers call; ``maintenance`` pruner, cleaner and prefetcher; ``cmd`` their
console scripts.

Nothing here is shared between nodes: each api node caches for itself, and
every cached serve is decided from the image record the handler just read
from the registry, so an image deleted or deactivated through any node is
never served from any node's cache.
"""
