"""``python -m human_parsing.data.synthetic --out DIR [--layout cihp] [--split train] ...``"""

from .cli import main

if __name__ == "__main__":
    main()
