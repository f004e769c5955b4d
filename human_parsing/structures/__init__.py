from .parsing import ParsingMaps, PersonParsing

__all__ = ["ParsingMaps", "PersonParsing"]
