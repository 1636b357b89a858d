from sia_tui.cli import entry

entry()
