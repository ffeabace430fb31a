"""Store drivers, one module each, imported only when configured."""
