"""Weight I/O, apart from the network: the official checkpoint/config format, the project's own
folder format, the hub, and the one key-name table between the released names and ours."""
