"""glance-scrubber: delayed deletes, restores and orphaned data.

    cmd       the console script
    scrub     pending_delete images whose time is up lose their data
    orphans   data no image points to
"""
