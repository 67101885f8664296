#!/usr/bin/env python3
"""Builds, with the AP2 v0.2 Python SDK itself, a corpus of Delegate SD-JWT chains for
agentid to verify (tests/interop_ap2.rs), and prints it as one JSON array on stdout.

Each item:

  {"name": "payment/2hop/sd_hash/valid", "kind": "payment"|"checkout",
   "hops": 2, "hash_mode": "sd_hash"|"issuer_jwt_hash",
   "chain": "<root>~<d>~~<closed>~<d>~", "root_jwk": {public JWK of the root's signer},
   "aud": str, "nonce": str, "now": int,
   "sdk_verdict": {"ok": true, "payloads": n} | {"ok": false, "error": "<class>: <msg>"},
   "constraint_violations": [str, ...],   only when the SDK accepted the chain
   "constraint_error": str,               only when a typed check raised instead
   "expected_transaction_id": str,        \
   "expected_open_checkout_hash": str,     } only for an item that needs them: what
   "usage": {"total_amount": int,         /  the verifier expects / knows of the
             "total_uses": int},                mandate's use so far
   "expect_error": str}                   only for a refusal: a part of the SDK's error

Names say what the SDK must do with the item, and tests/interop_ap2.rs checks it:
`…/valid` are accepted with no constraint violation; `…/sdk-lenient/…` are accepted
by `MandateClient.verify` although they are not a proper chain (the typed constraint
check may or may not object: a stricter verifier refuses them); `…/tampered/…` are
refused (`expect_error` in the error); `…/constraint/…` are accepted by
`MandateClient.verify` but have constraint violations; `…/unchecked/…` are accepted
by `MandateClient.verify`, but the typed constraint check cannot read a mandate
(pydantic refuses a constraint type the SDK does not define) and raises
(`expect_error` in `constraint_error`).

`constraint_violations` is what the SDK's own checks report on the verified payloads:
`CheckoutMandateChain.parse([open, closed]).verify(checkout_jwt=closed.checkout_jwt,
expected_checkout_hash=<b64url sha-256 of that checkout_jwt>)` for checkout chains,
`PaymentMandateChain.parse([open, closed]).verify(expected_transaction_id=…,
expected_open_checkout_hash=…, mandate_context=MandateContext(**usage))` for payment
chains, each argument only when the item has it (else the SDK's default, None). Those
classes take exactly two payloads; in a chain with an intermediate hop every open
mandate (the root's and each delegate's) is checked against the closed one, in chain
order, with the same arguments, and the violations are concatenated. An exception
(`parse` or `verify` raising) is `constraint_error`, the first one's class and first
line; the checks of the other open mandates still run.

An open payment mandate with a `payment.agent_recurrence` is signed from a subclass
of the SDK's OpenPaymentMandate that dumps in pydantic's JSON mode: `MandateClient.create`
dumps in Python mode, where `frequency` stays a `Frequency` enum that json cannot
encode, so the SDK cannot sign its own recurrence constraint (its recurrence tests
only call `check_payment_constraints`). The constraint types the SDK does not define
are signed the same way, from subclasses whose `constraints` admit one more class.

Deterministic verdicts: every hop carries `iat` = NOW (the SDK's hop clock is fixed,
see ap2_sdk.py), every root `exp` is relative to NOW, and `now` = NOW is the time to
verify at. Keys and salts are fresh on every run. All keys are P-256 (ES256): the SDK
cannot sign with an Ed25519 key (its issuer defaults to ES256 and jwcrypto fails on
the OKP key), nor use one as a `cnf` key (see ap2_verify.py).
"""

import base64
import hashlib
import json
import sys

# Before any import from here: no __pycache__ here or in the SDK's (shared) tree.
sys.dont_write_bytecode = True

import ap2_sdk  # noqa: E402

NOW = 1_800_000_000
AUD = "https://merchant.example"
NONCE = "n-merchant-7Qx"
SUB_AUD = "https://sub-agent.example"
SUB_NONCE = "n-sub-agent-3"
TRANSACTION_ID = "tx-checkout-1"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sha256_b64url(text):
    return b64url(hashlib.sha256(text.encode("ascii")).digest())


def strip_tilde(segment):
    return segment[:-1] if segment.endswith("~") else segment


def join(segments):
    """Joins segments (each `JWT~d…~`) into a chain: `s1~~s2~~…~~sn~`."""
    return "~~".join(strip_tilde(s) for s in segments[:-1]) + "~~" + segments[-1]


def split(chain):
    """The segments of a chain, each ending in '~' again."""
    parts = chain.split("~~")
    return [p if p.endswith("~") else p + "~" for p in parts]


def drop_disclosure(segment, claim):
    """The segment without the disclosure of the object property `claim`."""
    jwt, *disclosures = strip_tilde(segment).split("~")

    def discloses_claim(disclosure):
        padded = disclosure + "=" * (-len(disclosure) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded))
        return len(decoded) == 3 and decoded[1] == claim

    kept = [d for d in disclosures if not discloses_claim(d)]
    assert len(kept) == len(disclosures) - 1, f"no disclosure of {claim}"
    return "~".join([jwt, *kept]) + "~"


def flip_signature(segment):
    """The segment with one byte of its JWT's signature flipped."""
    jwt, rest = segment.split("~", 1)
    header, payload, signature = jwt.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{header}.{payload}.{b64url(bytes(raw))}~{rest}"


class Sdk:
    """The SDK's entry points, imported once."""

    def __init__(self):
        self.mandate = ap2_sdk.load()
        self.clock = ap2_sdk.fix_hop_clock(NOW)
        from jwcrypto.jwk import JWK

        from ap2.sdk.checkout_mandate_chain import CheckoutMandateChain
        from ap2.sdk.constraints import MandateContext
        from ap2.sdk.disclosure_metadata import DisclosureMetadata
        from ap2.sdk.generated import open_checkout_mandate as oc
        from ap2.sdk.generated import open_payment_mandate as op
        from ap2.sdk.generated.checkout_mandate import CheckoutMandate
        from ap2.sdk.generated.payment_mandate import PaymentMandate
        from ap2.sdk.generated.types import checkout as ck
        from ap2.sdk.generated.types.amount import Amount
        from ap2.sdk.generated.types.item import Item
        from ap2.sdk.generated.types.line_item import LineItem
        from ap2.sdk.generated.types.link import Link
        from ap2.sdk.generated.types.merchant import Merchant
        from ap2.sdk.generated.types.payment_instrument import PaymentInstrument
        from ap2.sdk.generated.types.pisp import PISP
        from ap2.sdk.generated.types.total import Total
        from ap2.sdk.payment_mandate_chain import PaymentMandateChain
        from ap2.sdk.sdjwt import kb_sd_jwt, parse_token

        class OpenPaymentAsJson(op.OpenPaymentMandate):
            """The SDK's OpenPaymentMandate, dumped in pydantic's JSON mode."""

            def model_dump(self, **kwargs):
                return super().model_dump(mode="json", **kwargs)

        names = dict(locals())
        del names["self"]
        self.__dict__.update(names)
        self.client = self.mandate.MandateClient()

    # Keys -----------------------------------------------------------------

    def key(self, kid):
        key = self.JWK.generate(kty="EC", crv="P-256")
        private = json.loads(key.export())
        private["kid"] = kid
        return self.JWK(**private)

    @staticmethod
    def public(key):
        return json.loads(key.export_public())

    def cnf(self, key):
        return {"jwk": self.public(key)}

    # Mandates -------------------------------------------------------------

    def merchant(self, merchant_id="m-1", name="Good Store"):
        return self.Merchant(id=merchant_id, name=name)

    def open_payment(self, holder, constraints=(), exp=NOW + 3600, **preset):
        # MandateClient.create signs `model_dump()` in Python mode, where an
        # AgentRecurrence's `frequency` stays a `Frequency` enum, which json cannot
        # encode (the SDK's own recurrence tests never sign one): such a mandate is
        # dumped in JSON mode, `"frequency": "MONTHLY"` as the schema has it.
        recurring = any(isinstance(c, self.op.AgentRecurrence) for c in constraints)
        model = self.OpenPaymentAsJson if recurring else self.op.OpenPaymentMandate
        return model(constraints=list(constraints), cnf=self.cnf(holder), exp=exp,
                     **preset)

    def closed_payment(self, amount=4000, currency="USD", payee=None, instrument="pi-1",
                       pisp=None, execution_date=None):
        return self.PaymentMandate(
            transaction_id=TRANSACTION_ID,
            payee=payee or self.merchant(),
            payment_amount=self.Amount(amount=amount, currency=currency),
            payment_instrument=self.PaymentInstrument(id=instrument, type="card"),
            pisp=pisp,
            execution_date=execution_date,
        )

    def pisp(self, brand="Good Pay"):
        return self.PISP(legal_name="Good Pay Ltd", brand_name=brand,
                         domain_name="pisp.example")

    def open_checkout(self, holder, constraints=(), exp=NOW + 3600):
        return self.oc.OpenCheckoutMandate(
            constraints=list(constraints), cnf=self.cnf(holder), exp=exp
        )

    def checkout_jwt(self, merchant_key, merchant, items):
        """A merchant-signed UCP checkout: items are (sku, title, quantity, price)."""
        from jwcrypto.jws import JWS

        line_items = [
            self.LineItem(
                id=f"li-{sku}",
                item=self.Item(id=sku, title=title, price=price),
                quantity=quantity,
                totals=[
                    self.Total(type="subtotal", amount=price * quantity),
                    self.Total(type="total", amount=price * quantity),
                ],
            )
            for sku, title, quantity, price in items
        ]
        total = sum(price * quantity for _, _, quantity, price in items)
        checkout = self.ck.Checkout(
            id="chk-1",
            merchant=merchant,
            line_items=line_items,
            status=self.ck.Status.ready_for_complete,
            currency="USD",
            totals=[
                self.Total(type="subtotal", amount=total),
                self.Total(type="total", amount=total),
            ],
            links=[self.Link(type="terms_of_service", url="https://merchant.example/tos")],
        )
        jws = JWS(checkout.model_dump_json(exclude_none=True).encode())
        jws.add_signature(
            merchant_key,
            alg="ES256",
            protected=json.dumps({"alg": "ES256", "typ": "JWT", "kid": "merchant-1"}),
        )
        return jws.serialize(compact=True)

    def closed_checkout(self, checkout_jwt):
        return self.CheckoutMandate(
            checkout_jwt=checkout_jwt, checkout_hash=sha256_b64url(checkout_jwt)
        )

    @staticmethod
    def delegate_claims(model):
        return model.model_dump(by_alias=True, exclude_none=True)

    # Chains ---------------------------------------------------------------

    def root(self, user, open_mandate, sd=None):
        return self.client.create(payloads=[open_mandate], issuer_key=user, sd=sd)

    def hop(self, previous_segment, holder, mandate, aud, nonce, hash_mode):
        """One hop over `previous_segment`, as `MandateClient.present` signs it.

        `present` binds to the whole `mandate_token` it is given, so it is handed the
        previous segment alone (a whole chain does not parse as one SD-JWT); the
        returned `previous~~hop` is cut back to the hop.
        """
        joined = self.client.present(
            holder_key=holder,
            mandate_token=previous_segment,
            payloads=[mandate],
            aud=aud,
            nonce=nonce,
            hash_mode=hash_mode,
        )
        return joined.rsplit("~~", 1)[1]

    # Verdicts -------------------------------------------------------------

    def verdict(self, item, user):
        public = self.JWK(**self.public(user))
        try:
            payloads = self.client.verify(
                token=item["chain"],
                key_or_provider=lambda _token: public,
                expected_aud=item["aud"],
                expected_nonce=item["nonce"],
                current_time=item["now"],
            )
        except Exception as error:  # noqa: BLE001 - any failure is a rejection
            return {"ok": False, "error": f"{type(error).__name__}: {error}"}, None
        return {"ok": True, "payloads": len(payloads)}, payloads

    def violations(self, item, payloads):
        """(the violations, the first exception raised or None)."""
        closed = payloads[-1]
        found = []
        raised = None
        usage = item.get("usage")
        for open_mandate in payloads[:-1]:
            try:
                if item["kind"] == "checkout":
                    jwt = closed.get("checkout_jwt")
                    chain = self.CheckoutMandateChain.parse([open_mandate, closed])
                    found += chain.verify(
                        checkout_jwt=jwt,
                        expected_checkout_hash=sha256_b64url(jwt) if jwt else None,
                    )
                else:
                    chain = self.PaymentMandateChain.parse([open_mandate, closed])
                    found += chain.verify(
                        expected_transaction_id=item.get("expected_transaction_id"),
                        expected_open_checkout_hash=item.get(
                            "expected_open_checkout_hash"),
                        mandate_context=(self.MandateContext(**usage)
                                         if usage is not None else None),
                    )
            except Exception as error:  # noqa: BLE001 - reported, not fatal
                if raised is None:
                    first_line = (str(error).splitlines() or [""])[0]
                    raised = f"{type(error).__name__}: {first_line}"
        return found, raised


class Corpus:
    def __init__(self, sdk):
        self.sdk = sdk
        self.items = []

    def add(self, name, kind, segments, user, *, hash_mode="sd_hash", hops=None,
            aud=AUD, nonce=NONCE, expect_error=None, chain=None, usage=None,
            expected_transaction_id=None, expected_open_checkout_hash=None):
        item = {
            "name": name,
            "kind": kind,
            "hops": hops if hops is not None else len(segments),
            "hash_mode": hash_mode,
            "chain": chain if chain is not None else join(segments),
            "root_jwk": self.sdk.public(user),
            "aud": aud,
            "nonce": nonce,
            "now": NOW,
        }
        expectations = {
            "usage": usage,
            "expected_transaction_id": expected_transaction_id,
            "expected_open_checkout_hash": expected_open_checkout_hash,
        }
        item.update({k: v for k, v in expectations.items() if v is not None})
        verdict, payloads = self.sdk.verdict(item, user)
        item["sdk_verdict"] = verdict
        if payloads is not None:
            found, raised = self.sdk.violations(item, payloads)
            item["constraint_violations"] = found
            if raised is not None:
                item["constraint_error"] = raised
        if expect_error is not None:
            item["expect_error"] = expect_error
        self.items.append(item)
        return item


def build():
    sdk = Sdk()
    corpus = Corpus(sdk)
    user = sdk.key("user-key-1")
    agent = sdk.key("agent-key-1")
    sub = sdk.key("sub-agent-key-1")
    other = sdk.key("other-key-1")
    merchant_key = sdk.key("merchant-1")

    amount_range = sdk.op.AmountRange(currency="USD", max=5000, min=100)
    payees = sdk.op.AllowedPayees(allowed=[sdk.merchant()])
    instruments = sdk.op.AllowedPaymentInstruments(
        allowed=[sdk.PaymentInstrument(id="pi-1", type="card")]
    )
    payment_constraints = [amount_range, payees, instruments]

    good_store = sdk.merchant()
    allowed_merchants = sdk.oc.AllowedMerchants(allowed=[good_store])
    line_items = sdk.oc.LineItems(
        items=[
            sdk.oc.LineItemRequirements(
                id="req-1",
                acceptable_items=[sdk.oc.Item(id="SKU-A", title="Widget")],
                quantity=2,
            )
        ]
    )
    checkout_constraints = [allowed_merchants, line_items]
    widgets = [("SKU-A", "Widget", 2, 1500)]

    for mode in ("sd_hash", "issuer_jwt_hash"):
        # Open checkout mandate -> closed checkout mandate.
        root = sdk.root(user, sdk.open_checkout(agent, checkout_constraints))
        jwt = sdk.checkout_jwt(merchant_key, good_store, widgets)
        closed = sdk.hop(root, agent, sdk.closed_checkout(jwt), AUD, NONCE, mode)
        corpus.add(f"checkout/2hop/{mode}/valid", "checkout", [root, closed], user,
                   hash_mode=mode)

        # Open payment mandate -> closed payment mandate.
        root = sdk.root(user, sdk.open_payment(agent, payment_constraints))
        closed = sdk.hop(root, agent, sdk.closed_payment(), AUD, NONCE, mode)
        corpus.add(f"payment/2hop/{mode}/valid", "payment", [root, closed], user,
                   hash_mode=mode)

        # Open payment mandate -> agent delegates to a sub-agent -> closed mandate.
        narrower = sdk.op.AmountRange(currency="USD", max=4500, min=100)
        root = sdk.root(user, sdk.open_payment(agent, payment_constraints))
        middle = sdk.hop(root, agent, sdk.open_payment(sub, [narrower, payees]),
                         SUB_AUD, SUB_NONCE, mode)
        closed = sdk.hop(middle, sub, sdk.closed_payment(), AUD, NONCE, mode)
        corpus.add(f"payment/3hop/{mode}/valid", "payment", [root, middle, closed],
                   user, hash_mode=mode)

    # Checkout with a sub-agent too.
    root = sdk.root(user, sdk.open_checkout(agent, checkout_constraints))
    middle = sdk.hop(root, agent, sdk.open_checkout(sub, [allowed_merchants]),
                     SUB_AUD, SUB_NONCE, "sd_hash")
    jwt = sdk.checkout_jwt(merchant_key, good_store, widgets)
    closed = sdk.hop(middle, sub, sdk.closed_checkout(jwt), AUD, NONCE, "sd_hash")
    corpus.add("checkout/3hop/sd_hash/valid", "checkout", [root, middle, closed], user)

    # A root whose pre-set payee and amount are disclosures of their own
    # (DisclosureMetadata, as the SDK's issuer_jwt_hash tests do), forwarded without
    # the amount's: allowed when the next hop binds with issuer_jwt_hash only.
    sd = sdk.DisclosureMetadata(sd_keys=["payment_amount", "payee"])
    preset = sdk.open_payment(agent, [amount_range], payee=good_store,
                              payment_amount=sdk.Amount(amount=4000, currency="USD"))
    for mode, name, error in (
        ("issuer_jwt_hash", "valid/root-amount-disclosure-dropped", None),
        ("sd_hash", "tampered/root-amount-disclosure-dropped", "sd_hash mismatch"),
    ):
        root = sdk.root(user, preset, sd=sd)
        closed = sdk.hop(root, agent, sdk.closed_payment(), AUD, NONCE, mode)
        redacted = drop_disclosure(root, "payment_amount")
        corpus.add(f"payment/2hop/{mode}/{name}", "payment", [redacted, closed], user,
                   hash_mode=mode, expect_error=error)

    # Tampered copies of the two- and three-hop payment chains (sd_hash).
    root = sdk.root(user, sdk.open_payment(agent, payment_constraints))
    closed = sdk.hop(root, agent, sdk.closed_payment(), AUD, NONCE, "sd_hash")
    two = [root, closed]
    root3 = sdk.root(user, sdk.open_payment(agent, payment_constraints))
    middle3 = sdk.hop(root3, agent, sdk.open_payment(sub, [amount_range, payees]),
                      SUB_AUD, SUB_NONCE, "sd_hash")
    closed3 = sdk.hop(middle3, sub, sdk.closed_payment(), AUD, NONCE, "sd_hash")
    three = [root3, middle3, closed3]
    for label, segments in (("2hop", two), ("3hop", three)):
        names = ["root", "middle", "closed"] if len(segments) == 3 else ["root", "closed"]
        for index, hop_name in enumerate(names):
            flipped = list(segments)
            flipped[index] = flip_signature(flipped[index])
            corpus.add(f"payment/{label}/sd_hash/tampered/{hop_name}-signature-flipped",
                       "payment", flipped, user, expect_error="InvalidJWSSignature")
        corpus.add(f"payment/{label}/sd_hash/tampered/wrong-aud", "payment", segments,
                   user, aud="https://other-merchant.example", expect_error="aud mismatch")
        corpus.add(f"payment/{label}/sd_hash/tampered/wrong-nonce", "payment", segments,
                   user, nonce="n-replayed", expect_error="nonce mismatch")
    corpus.add("payment/2hop/sd_hash/tampered/middle-of-3-dropped", "payment",
               [root3, closed3], user, expect_error="InvalidJWSSignature")
    corpus.add("payment/3hop/sd_hash/tampered/hops-reordered", "payment",
               [root3, closed3, middle3], user, expect_error="InvalidJWSSignature")
    # Another root for the same agent key: the delegation's signature holds, its
    # binding does not.
    corpus.add("payment/3hop/sd_hash/tampered/root-swapped", "payment",
               [root, middle3, closed3], user, expect_error="sd_hash mismatch")
    # MandateClient.verify does not require a chain to end with a terminal hop (aud and
    # nonce are then compared with nothing); only PaymentMandateChain.parse, in the
    # constraint check, notices that the last payload is not a closed mandate.
    corpus.add("payment/2hop/sd_hash/sdk-lenient/terminal-of-3-dropped", "payment",
               [root3, middle3], user)
    # Nor that a hop's delegate object is disclosed: without it (or with another
    # disclosure in its place, which no digest names and the SDK ignores) the closed
    # mandate's payload is the hop's own claims, `delegate_payload: []`.
    jwt = closed.split("~", 1)[0]
    stranger = b64url(json.dumps(["salt-x", sdk.delegate_claims(sdk.closed_payment(
        amount=1))]).encode())
    corpus.add("payment/2hop/sd_hash/sdk-lenient/closed-disclosure-withheld", "payment",
               [root, jwt + "~"], user)
    corpus.add("payment/2hop/sd_hash/sdk-lenient/closed-disclosure-replaced", "payment",
               [root, f"{jwt}~{stranger}~"], user)

    # Hops signed by a key that is not the previous segment's cnf key.
    forged = sdk.hop(root, other, sdk.closed_payment(), AUD, NONCE, "sd_hash")
    corpus.add("payment/2hop/sd_hash/tampered/closed-signed-by-other-key", "payment",
               [root, forged], user, expect_error="InvalidJWSSignature")
    forged_middle = sdk.hop(root3, other, sdk.open_payment(sub, [amount_range]),
                            SUB_AUD, SUB_NONCE, "sd_hash")
    closed_on_forged = sdk.hop(forged_middle, sub, sdk.closed_payment(), AUD, NONCE,
                               "sd_hash")
    corpus.add("payment/3hop/sd_hash/tampered/middle-signed-by-other-key", "payment",
               [root3, forged_middle, closed_on_forged], user,
               expect_error="InvalidJWSSignature")
    other_root = sdk.root(other, sdk.open_payment(agent, payment_constraints))
    closed_other = sdk.hop(other_root, agent, sdk.closed_payment(), AUD, NONCE, "sd_hash")
    corpus.add("payment/2hop/sd_hash/tampered/root-signed-by-other-key", "payment",
               [other_root, closed_other], user, expect_error="InvalidJWSSignature")

    # Time: an expired root, a closed mandate dated in the future.
    expired = sdk.root(user, sdk.open_payment(agent, payment_constraints, exp=NOW - 3600))
    closed_expired = sdk.hop(expired, agent, sdk.closed_payment(), AUD, NONCE, "sd_hash")
    corpus.add("payment/2hop/sd_hash/tampered/root-expired", "payment",
               [expired, closed_expired], user, expect_error="Token 0 expired")
    sdk.clock.now = NOW + 3600
    future = sdk.hop(root, agent, sdk.closed_payment(), AUD, NONCE, "sd_hash")
    sdk.clock.now = NOW
    corpus.add("payment/2hop/sd_hash/tampered/closed-iat-in-future", "payment",
               [root, future], user, expect_error="iat is in the future")
    expired_checkout = sdk.root(user, sdk.open_checkout(agent, checkout_constraints,
                                                        exp=NOW - 3600))
    closed_checkout_expired = sdk.hop(expired_checkout, agent,
                                      sdk.closed_checkout(sdk.checkout_jwt(
                                          merchant_key, good_store, widgets)),
                                      AUD, NONCE, "sd_hash")
    corpus.add("checkout/2hop/sd_hash/tampered/root-expired", "checkout",
               [expired_checkout, closed_checkout_expired], user,
               expect_error="Token 0 expired")

    # Well-signed chains whose closed mandate breaks the open mandate's constraints.
    payment_cases = [
        ("amount-above-range", dict(amount=9000), [amount_range]),
        ("amount-below-range", dict(amount=50), [amount_range]),
        ("currency-mismatch", dict(currency="EUR"), [amount_range]),
        ("payee-not-allowed", dict(payee=sdk.merchant("m-evil", "Evil Store")), [payees]),
        ("instrument-not-allowed", dict(instrument="pi-9"), [instruments]),
    ]
    for label, closed_args, constraints in payment_cases:
        root = sdk.root(user, sdk.open_payment(agent, constraints))
        closed = sdk.hop(root, agent, sdk.closed_payment(**closed_args), AUD, NONCE,
                         "sd_hash")
        corpus.add(f"payment/2hop/sd_hash/constraint/{label}", "payment",
                   [root, closed], user)
    root = sdk.root(user, sdk.open_payment(agent, [], payee=good_store,
                                           payment_amount=sdk.Amount(amount=4000,
                                                                     currency="USD")))
    closed = sdk.hop(root, agent, sdk.closed_payment(amount=4500), AUD, NONCE, "sd_hash")
    corpus.add("payment/2hop/sd_hash/constraint/preset-amount-changed", "payment",
               [root, closed], user)
    # A delegate's own narrower limit is broken, the root's is not.
    root = sdk.root(user, sdk.open_payment(agent, [amount_range]))
    middle = sdk.hop(root, agent, sdk.open_payment(sub, [
        sdk.op.AmountRange(currency="USD", max=3000)]), SUB_AUD, SUB_NONCE, "sd_hash")
    closed = sdk.hop(middle, sub, sdk.closed_payment(amount=4000), AUD, NONCE, "sd_hash")
    corpus.add("payment/3hop/sd_hash/constraint/above-delegate-range", "payment",
               [root, middle, closed], user)
    # A delegate that widens the root's limit: the SDK signs and accepts the hop (no
    # attenuation check); only the root's constraint catches the amount.
    middle = sdk.hop(root, agent, sdk.open_payment(sub, [
        sdk.op.AmountRange(currency="USD", max=90000)]), SUB_AUD, SUB_NONCE, "sd_hash")
    closed = sdk.hop(middle, sub, sdk.closed_payment(amount=7000), AUD, NONCE, "sd_hash")
    corpus.add("payment/3hop/sd_hash/constraint/delegate-widens-range", "payment",
               [root, middle, closed], user)

    checkout_cases = [
        ("merchant-not-allowed", sdk.merchant("m-evil", "Evil Store"), widgets,
         [allowed_merchants]),
        ("line-item-quantity-above-requirement", good_store,
         [("SKU-A", "Widget", 3, 1500)],
         [line_items]),
        ("line-item-not-acceptable", good_store, [("SKU-B", "Gadget", 2, 900)],
         [line_items]),
    ]
    for label, merchant, items, constraints in checkout_cases:
        root = sdk.root(user, sdk.open_checkout(agent, constraints))
        closed = sdk.hop(root, agent,
                         sdk.closed_checkout(sdk.checkout_jwt(merchant_key, merchant,
                                                              items)),
                         AUD, NONCE, "sd_hash")
        corpus.add(f"checkout/2hop/sd_hash/constraint/{label}", "checkout",
                   [root, closed], user)
    # A closed checkout mandate whose checkout_hash is not the hash of its checkout_jwt.
    root = sdk.root(user, sdk.open_checkout(agent, [allowed_merchants]))
    jwt = sdk.checkout_jwt(merchant_key, good_store, widgets)
    wrong_hash = sdk.CheckoutMandate(checkout_jwt=jwt, checkout_hash=sha256_b64url("x"))
    closed = sdk.hop(root, agent, wrong_hash, AUD, NONCE, "sd_hash")
    corpus.add("checkout/2hop/sd_hash/constraint/checkout-hash-mismatch", "checkout",
               [root, closed], user)
    # Every other constraint the SDK evaluates, and the expectations its
    # PaymentMandateChain.verify takes: each with an item it accepts and one it
    # refuses. `usage` is the SDK's MandateContext (what a verifier's store knows of
    # the mandate's earlier payments), passed to the SDK and to agentid alike.
    def payment2(name, constraints, closed_args=None, **expectations):
        root = sdk.root(user, sdk.open_payment(agent, constraints))
        closed = sdk.hop(root, agent, sdk.closed_payment(**(closed_args or {})), AUD,
                         NONCE, "sd_hash")
        corpus.add(f"payment/2hop/sd_hash/{name}", "payment", [root, closed], user,
                   **expectations)

    budget = sdk.op.Budget(max=50.0, currency="USD")  # 5000 minor units
    payment2("valid/budget-within", [budget], usage={"total_amount": 500, "total_uses": 1})
    payment2("constraint/budget-exceeded", [budget],
             usage={"total_amount": 1500, "total_uses": 1})
    payment2("constraint/budget-without-usage", [budget])

    pisps = sdk.op.AllowedPisps(allowed=[sdk.pisp()])
    payment2("valid/pisp-allowed", [pisps], dict(pisp=sdk.pisp()))
    payment2("constraint/pisp-not-allowed", [pisps], dict(pisp=sdk.pisp("Other Pay")))
    payment2("constraint/pisp-missing", [pisps])

    # Recurrence needs an amount range and a budget beside it; it counts every earlier
    # use (the SDK does not look at the frequency's period).
    recurrence = sdk.op.AgentRecurrence(frequency=sdk.op.Frequency.MONTHLY,
                                        max_occurrences=3)
    recurring = [recurrence, amount_range, sdk.op.Budget(max=200.0, currency="USD")]
    payment2("valid/recurrence-within", recurring,
             usage={"total_amount": 8000, "total_uses": 2})
    payment2("constraint/recurrence-exceeded", recurring,
             usage={"total_amount": 8000, "total_uses": 3})
    payment2("constraint/recurrence-without-companions", [recurrence],
             usage={"total_amount": 0, "total_uses": 0})

    window = sdk.op.ExecutionDate(not_before="2027-01-01", not_after="2027-12-31")
    payment2("valid/execution-date-inside", [window], dict(execution_date="2027-01-20"))
    payment2("constraint/execution-date-after", [window],
             dict(execution_date="2028-02-01"))
    payment2("constraint/execution-date-before", [window],
             dict(execution_date="2026-12-31"))

    # payment.reference names the open checkout mandate the payment belongs to by its
    # digest: here the SHA-256 of an open checkout mandate's root token.
    open_checkout_hash = sha256_b64url(
        sdk.root(user, sdk.open_checkout(agent, checkout_constraints)))
    reference = sdk.op.PaymentReference(conditional_transaction_id=open_checkout_hash)
    payment2("valid/reference-matching", [reference],
             expected_open_checkout_hash=open_checkout_hash)
    payment2("constraint/reference-mismatch", [reference],
             expected_open_checkout_hash=sha256_b64url("another open checkout"))
    payment2("constraint/reference-without-hash", [reference])

    payment2("valid/transaction-id-expected", payment_constraints,
             expected_transaction_id=TRANSACTION_ID)
    payment2("constraint/transaction-id-mismatch", payment_constraints,
             expected_transaction_id="tx-checkout-2")

    # The same usage applies to every open mandate: the delegate's smaller budget is
    # exceeded, the root's is not.
    root = sdk.root(user, sdk.open_payment(agent, [sdk.op.Budget(max=100.0,
                                                                 currency="USD")]))
    middle = sdk.hop(root, agent, sdk.open_payment(sub, [budget]), SUB_AUD, SUB_NONCE,
                     "sd_hash")
    closed = sdk.hop(middle, sub, sdk.closed_payment(), AUD, NONCE, "sd_hash")
    corpus.add("payment/3hop/sd_hash/constraint/above-delegate-budget", "payment",
               [root, middle, closed], user,
               usage={"total_amount": 1500, "total_uses": 1})

    # A constraint type the SDK does not define, in an open mandate signed with the
    # SDK (its model extended by one constraint class): MandateClient.verify accepts
    # the chain, the typed check cannot read the mandate and raises.
    from typing import Literal

    from pydantic import BaseModel

    class Velocity(BaseModel):
        type: Literal["payment.velocity"] = "payment.velocity"
        max_per_day: int

    class OpenPaymentWithVelocity(sdk.op.OpenPaymentMandate):
        constraints: list[sdk.op.AmountRange | Velocity]

    class OpenCheckoutWithAmountRange(sdk.oc.OpenCheckoutMandate):
        constraints: list[sdk.oc.AllowedMerchants | sdk.op.AmountRange]

    def with_velocity(holder):
        return OpenPaymentWithVelocity(constraints=[amount_range, Velocity(max_per_day=3)],
                                       cnf=sdk.cnf(holder), exp=NOW + 3600)

    unknown = "for OpenPaymentMandate"
    root = sdk.root(user, with_velocity(agent))
    closed = sdk.hop(root, agent, sdk.closed_payment(), AUD, NONCE, "sd_hash")
    corpus.add("payment/2hop/sd_hash/unchecked/unknown-constraint-type", "payment",
               [root, closed], user, expect_error=unknown)
    root = sdk.root(user, sdk.open_payment(agent, [amount_range]))
    middle = sdk.hop(root, agent, with_velocity(sub), SUB_AUD, SUB_NONCE, "sd_hash")
    closed = sdk.hop(middle, sub, sdk.closed_payment(), AUD, NONCE, "sd_hash")
    corpus.add("payment/3hop/sd_hash/unchecked/unknown-constraint-type-in-delegate",
               "payment", [root, middle, closed], user, expect_error=unknown)
    # A payment constraint in an open checkout mandate is no checkout constraint.
    root = sdk.root(user, OpenCheckoutWithAmountRange(
        constraints=[allowed_merchants, amount_range], cnf=sdk.cnf(agent), exp=NOW + 3600))
    closed = sdk.hop(root, agent,
                     sdk.closed_checkout(sdk.checkout_jwt(merchant_key, good_store,
                                                          widgets)),
                     AUD, NONCE, "sd_hash")
    corpus.add("checkout/2hop/sd_hash/unchecked/payment-constraint-in-checkout",
               "checkout", [root, closed], user, expect_error="for OpenCheckoutMandate")

    # A sub-agent whose own line-item constraint the checkout meets, or breaks (one
    # widget where the root allows two).
    for name, quantity in (("valid/delegate-line-items", 2),
                           ("constraint/above-delegate-line-items", 1)):
        delegate_items = sdk.oc.LineItems(items=[sdk.oc.LineItemRequirements(
            id="req-sub-1", acceptable_items=[sdk.oc.Item(id="SKU-A", title="Widget")],
            quantity=quantity)])
        root = sdk.root(user, sdk.open_checkout(agent, checkout_constraints))
        middle = sdk.hop(root, agent, sdk.open_checkout(sub, [delegate_items]), SUB_AUD,
                         SUB_NONCE, "sd_hash")
        jwt = sdk.checkout_jwt(merchant_key, good_store, widgets)
        closed = sdk.hop(middle, sub, sdk.closed_checkout(jwt), AUD, NONCE, "sd_hash")
        corpus.add(f"checkout/3hop/sd_hash/{name}", "checkout", [root, middle, closed],
                   user)
    return corpus.items


def main():
    try:
        items = build()
    except ap2_sdk.SdkUnavailable as error:
        print(f"the AP2 SDK does not import: {error}", file=sys.stderr)
        sys.exit(3)
    json.dump(items, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
