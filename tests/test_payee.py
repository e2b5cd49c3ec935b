"""Payee clean-up: match keys of real-looking bank texts, the tidy display form, settings and similarity."""

import pytest

from importer.errors import ConfigError
from importer.payee import PayeeSettings, match_key, similarity, tidy


@pytest.mark.parametrize("raw, key", [
    ("POS W/D WOOLWORTHS 1234 SYDNEY AU", "woolworths"),
    ("VISA DEBIT PURCHASE CARD 1234 WOOLWORTHS 1234 SYDNEY AU", "woolworths"),
    ("Woolworths 1234 Sydney AU Card xx1234 Value Date: 01/01/2024", "woolworths"),
    ("EFTPOS PURCHASE SQ *CAFE 22", "cafe"),
    ("SQ *DAILY GRIND 5521 SURRY HILLS", "daily grind"),
    ("PAYPAL *NETFLIX.COM 4029357733", "netflix"),
    ("ZETTLE_*BLUE BOTTLE", "blue bottle"),
    ("CARD4083ST MARTINS NEW WORLD CHRISTCHURCH", "st martins new world"),
    ("AMC VILLAGE 7 #2110 NEW YORK   ", "amc village"),
    ("ACME STORE CD 1417    14JAN24", "acme store"),
    ("SPOTIFY USA         28770130901", "spotify"),
    ("COLES EXPRESS 0000       SYDNEY       000", "coles express"),
    ("AMAZON.COM*AB12CD SEATTLE", "amazon"),
    ("MACY'S / #003 HERALD S / NEW YORK", "macys herald s"),
    ("Café Mogador", "cafe mogador"),
])
def test_match_key_strips_channel_processor_numbers_dates_and_places(raw, key):
    assert match_key(raw) == key


def test_a_location_alone_is_kept_rather_than_emptied():
    assert match_key("SYDNEY") == "sydney"
    assert match_key("Bread Co") == "bread"


def test_empty_and_digit_only_texts_have_empty_keys():
    assert match_key(None) == ""
    assert match_key("") == ""
    assert match_key("000123 4567") == ""


def test_tidy_collapses_whitespace_and_keeps_the_rest():
    assert tidy("  WOOLWORTHS   1234\tSYDNEY \n") == "WOOLWORTHS 1234 SYDNEY"
    assert tidy(None) == ""


def test_settings_from_config_add_prefixes_processors_locations_and_noise():
    settings = PayeeSettings.from_config({
        "prefixes": ["online purchase"], "processors": ["zlr"], "locations": ["fremantle"],
        "noise": [r"\bmember \d+"]})
    assert match_key("ONLINE PURCHASE BOOKTOPIA", settings) == "booktopia"
    assert match_key("ZLR *GELATO MESSINA", settings) == "gelato messina"
    assert match_key("LITTLE CREATURES FREMANTLE", settings) == "little creatures"
    assert match_key("GYM MEMBER 88231 FEES", settings) == "gym fees"
    # The cache is per setting: the defaults are untouched.
    assert match_key("ONLINE PURCHASE BOOKTOPIA") == "online purchase booktopia"


def test_noise_patterns_keep_their_case_so_escapes_mean_what_they_say():
    # Folding the pattern like the text would turn \S (not a space) into \s (a space).
    settings = PayeeSettings.from_config({"noise": [r"\bzz\S*"]})
    assert match_key("COFFEE ZZ12AB SHOP", settings) == "coffee shop"
    assert PayeeSettings.from_config({"noise": ["caf\u00e9"]}).extra_noise == ("cafe",)


@pytest.mark.parametrize("section, message", [
    ({"prefix": ["x"]}, r"unknown key 'payee.prefix' \(did you mean 'prefixes'\?\)"),
    ({"noise": ["(unclosed"]}, r"'payee.noise\[0\]' is not a valid regular expression"),
    ({"locations": [3]}, r"'payee.locations\[0\]' must be a word or phrase, not 3"),
    ({"locations": ["  "]}, "must be a word or phrase, not empty"),
    ({"processors": {"a": 1}}, "'payee.processors' must be a list of words or phrases, not a mapping"),
])
def test_bad_payee_settings_are_config_errors(section, message):
    with pytest.raises(ConfigError, match=message):
        PayeeSettings.from_config(section)


def test_partial_ratio_keeps_true_pairs_above_false_ones():
    true_pairs = [("AMAZON MKTPLACE PMTS AMZN.COM/BI", "Amazon Marketplace"),
                  ("SQ *DAILY GRIND 5521 SURRY HILLS", "The Daily Grind"),
                  ("POS W/D WOOLWORTHS 1234 SYDNEY AU", "Woolworths"),
                  ("JB HI FI BONDI", "JB HIFI"),
                  ("DIRECT DEBIT 000123 ENERGYAUSTRA", "EnergyAustralia")]
    false_pairs = [("POS W/D WOOLWORTHS 1234 SYDNEY AU", "Coles Sydney"),
                   ("CALTEX WOOLLAHRA", "Coles Express"),
                   ("NETFLIX.COM", "Spotify"),
                   ("WILSON PARKING 2201 SYDNEY", "Bondi Car Wash")]
    lowest_true = min(similarity(match_key(a), match_key(b)) for a, b in true_pairs)
    highest_false = max(similarity(match_key(a), match_key(b)) for a, b in false_pairs)
    assert lowest_true >= 0.9 > 0.65 > highest_false


def test_short_keys_compare_whole_not_as_substrings():
    assert similarity("bp", "bpay") < 0.7
    assert similarity("", "coles") == 0.0
