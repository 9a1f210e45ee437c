import pytest
from django.core.exceptions import ValidationError

from connections.base_url import normalize_base_url


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("https://support.example.com", "https://support.example.com"),
        ("https://support.example.com/", "https://support.example.com"),
        ("  HTTPS://Support.Example.com/IssueTrak/  ", "https://support.example.com/IssueTrak"),
        ("https://x.example.com/issuetrak/api/v2", "https://x.example.com/issuetrak"),
        ("https://x.example.com/api/v2/Users/Search", "https://x.example.com"),
        ("https://x.example.com/API/V2/", "https://x.example.com"),
        ("http://127.0.0.1:8765/healthy", "http://127.0.0.1:8765/healthy"),
    ],
)
def test_it_normalises_an_application_url(pasted, expected):
    assert normalize_base_url(pasted) == expected


@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        ("", "Enter the site's Application URL."),
        ("support.example.com", "Enter a full http(s) address"),
        ("ftp://support.example.com", "Enter a full http(s) address"),
        ("javascript:alert(1)", "Enter a full http(s) address"),
        ("https://admin:secret@support.example.com", "Remove the user name or password"),
        ("https://support.example.com/#/login", "no fragment"),
        ("https://support.example.com/?a=1", "no query string"),
        ("https://exa mple.com", "not a valid web address"),
        ("https://" + "a" * 600 + ".com", "is not an Application URL"),
    ],
)
def test_it_rejects_what_is_not_an_application_url(pasted, message):
    with pytest.raises(ValidationError) as error:
        normalize_base_url(pasted)
    assert message in " ".join(error.value.messages)
