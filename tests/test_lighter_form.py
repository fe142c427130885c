"""The ``sendTxBatch`` form encoded by the adapter is byte for byte what the SDK sends."""

from __future__ import annotations

import json
from urllib.parse import quote_plus, urlencode

from hypothesis import given
from hypothesis import strategies as st

from xlp_adapters.lighter.form import form_body, quote_form

SIGNED = json.dumps(
    {"AccountIndex": 90001, "ApiKeyIndex": 3, "MarketIndex": 12, "ClientOrderIndex": 7,
     "BaseAmount": 500, "Price": 1010000, "IsAsk": 1, "Nonce": 12, "Sig": "q0-_Zz9+/="}
)  # fmt: skip


def test_signed_transactions_and_odd_text_quote_as_quote_plus_does() -> None:
    batch = json.dumps([SIGNED, SIGNED])
    for text in (batch, "[14, 14]", "", "a b+c", "x%y&z=1", 'é"ü', "line\nbreak", "~._-"):
        assert quote_form(text) == quote_plus(text)
    fields = {"tx_types": "[14, 14]", "tx_infos": batch}
    assert form_body(fields) == urlencode(fields).encode()


@given(st.text())
def test_any_text_quotes_as_quote_plus_does(text: str) -> None:
    assert quote_form(text) == quote_plus(text)


@given(st.text(alphabet='\\":,{}[] abc019_.-~%+'))
def test_the_fast_alphabet_and_its_neighbours(text: str) -> None:
    assert quote_form(text) == quote_plus(text)
