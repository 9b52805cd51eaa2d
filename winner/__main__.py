from winner.cli import main

main()
