"""The pre-flight's default price per delivered template message, by category and calling
code (PRICE_TABLE_JSON replaces it). Illustrative figures: set your own rate card."""

DEFAULT_PRICE_TABLE: dict[str, dict[str, float]] = {
    "MARKETING": {
        "default": 0.0500,
        "1": 0.0250,
        "44": 0.0529,
        "55": 0.0625,
        "91": 0.0107,
        "52": 0.0305,
        "49": 0.1365,
        "62": 0.0411,
        "234": 0.0516,
        "27": 0.0379,
    },
    "UTILITY": {
        "default": 0.0150,
        "1": 0.0040,
        "44": 0.0220,
        "55": 0.0080,
        "91": 0.0014,
        "52": 0.0085,
        "49": 0.0550,
        "62": 0.0250,
        "234": 0.0067,
        "27": 0.0076,
    },
    "AUTHENTICATION": {
        "default": 0.0150,
        "1": 0.0135,
        "44": 0.0358,
        "55": 0.0315,
        "91": 0.0014,
        "52": 0.0050,
        "49": 0.0768,
        "62": 0.0300,
    },
}
