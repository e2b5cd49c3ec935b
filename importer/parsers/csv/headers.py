"""Header names in 15 languages: which role (date, amount, debit, payee...) a column's name suggests.

Inference trusts content first; a name only breaks ties the rows cannot settle (two date columns,
an in/out pair without a running balance), and names the roles of a file with a single row. Names are
compared after their decoration is removed: `Amount (GBP)`, `Kwota [PLN]`, `Paid out £`, `Debit CHF`,
`Betrag in EUR` and `金額（円）` are `amount`, `kwota`, `paid out`, `debit`, `betrag` and `金額`.

Languages: English, German, Dutch, French, Spanish, Portuguese, Italian, Swedish, Norwegian, Danish,
Finnish, Polish, Czech, Japanese and Chinese (with a few Hungarian, Lithuanian and Slovak names that
the corpus of real exports holds, and Korean names for the other party and the memo).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["ROLE_NAMES", "CURRENCY_SYMBOLS", "currency_code", "currency_in_name", "header_role", "is_balance_text",
           "is_exact_name", "is_pending", "is_summary_text", "strip_decoration", "PENDING_WORDS"]

# role -> names, each already in the form strip_decoration gives (case-folded, undecorated).
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "date": (
        # en
        "date", "transaction date", "trans date", "trans. date", "txn date", "posted date", "posting date",
        "post date", "booking date", "booked date", "date posted", "entry date", "completed date", "started date",
        "date completed", "transaction time", "date of transaction", "operation date",
        # de
        "datum", "buchungstag", "buchungsdatum", "buchung", "belegdatum", "umsatzdatum", "transaktionsdatum",
        "tag", "auftragsdatum",
        # nl
        "boekdatum", "transactiedatum", "boekingsdatum", "datum transactie",
        # fr
        "date opération", "date d'opération", "date de l'opération", "date comptable", "date de transaction",
        "date operation", "date de comptabilisation",
        # es
        "fecha", "fecha operación", "fecha de operación", "fecha contable", "fecha transacción",
        "fecha de la operación", "f. operación", "fecha operacion",
        # pt
        "data", "data movimento", "data do movimento", "data lançamento", "data de lançamento", "data operação",
        "data mov.", "data da operação",
        # it
        "data operazione", "data contabile", "data registrazione", "data op.",
        # sv
        "bokföringsdag", "bokföringsdatum", "transaktionsdag", "transaktionsdatum", "reskontradatum",
        # no
        "dato", "bokført dato", "bokføringsdato", "transaksjonsdato", "utført dato", "bokført",
        # da
        "bogføringsdato", "bogført", "posteringsdato", "bogføringsdag",
        # fi
        "päivämäärä", "pvm", "kirjauspäivä", "tapahtumapäivä", "maksupäivä", "kirjauspvm",
        # pl
        "data operacji", "data księgowania", "data transakcji", "data zlecenia",
        # cs / sk
        "datum zaúčtování", "datum transakce", "datum provedení", "zaúčtováno", "datum pohybu",
        "dátum", "dátum zaúčtovania",
        # hu / lt
        "könyvelés dátuma", "tranzakció dátuma", "data", "operacijos data",
        # ja
        "日付", "取引日", "お取引日", "利用日", "ご利用日", "年月日", "取扱日", "入出金日", "取引日付", "お取引日付",
        # zh
        "日期", "交易日期", "记账日期", "交易时间", "入账日期", "记账日", "交易日", "記帳日期",
    ),
    "value_date": (
        "value date", "valuta", "effective date", "valutadatum", "wertstellung", "wertstellungsdatum",
        "valuta datum", "rentedatum", "date de valeur", "date valeur", "fecha valor", "fecha de valor",
        "data valor", "data de valor", "data valuta", "valutadag", "valuteringsdato", "valørdato", "arvopäivä",
        "data waluty", "datum valuty", "dátum valuty", "起算日", "起息日", "value", "valuta dátum",
    ),
    "amount": (
        "amount", "transaction amount", "sum", "net amount", "net", "netto", "neto", "amt", "local amount",
        "betrag", "umsatz", "buchungsbetrag", "summe", "bedrag", "transactiebedrag", "montant",
        "montant de l'opération", "importe", "cantidad", "monto", "valor", "montante", "quantia", "importo",
        "belopp", "beløp", "beløb", "määrä", "summa", "rahamäärä", "kwota", "kwota operacji", "částka", "objem",
        "suma", "összeg", "suma", "金額", "取引金額", "利用金額", "ご利用金額", "金额", "交易金额", "发生额",
    ),
    "debit": (
        "debit", "debits", "debit amount", "withdrawal", "withdrawals", "money out", "paid out", "outflow", "out",
        "spent", "payments", "amount debited", "withdrawal amount",
        "soll", "belastung", "ausgang", "ausgabe", "lastschrift", "abbuchung", "betrag soll",
        "af", "debet", "uitgaven", "afschrijving", "débit", "débits", "sortie", "retrait",
        "cargo", "cargos", "debe", "débito", "retirada", "salida", "saída", "levantamento",
        "addebiti", "addebito", "uscite", "dare", "uttag", "ut", "uttak", "ut fra konto", "udbetaling", "ud",
        "hævet", "veloitus", "otto", "obciążenia", "obciążenie", "wydatki", "wypłata", "výdaj", "odepsáno",
        "výběr", "terhelés",
        "出金", "お引出し", "引出額", "支払い金額", "お支払い金額", "お引出し金額", "支払", "支払金額", "お支払金額", "出金金額", "お引出額",
        "支出", "支出金额", "借方金额", "借方", "付款", "转出",
    ),
    "credit": (
        "credit", "credits", "credit amount", "deposit", "deposits", "money in", "paid in", "inflow", "in",
        "received", "amount credited", "deposit amount",
        "haben", "gutschrift", "eingang", "einnahme", "betrag haben",
        "bij", "inkomsten", "bijschrijving", "crédit", "crédits", "entrée", "versement",
        "abono", "abonos", "haber", "crédito", "ingreso", "entrada", "depósito",
        "accrediti", "accredito", "entrate", "avere", "insättning", "inn", "innskudd", "inn på konto",
        "indbetaling", "ind", "indsat", "pano", "talletus", "hyvitys", "uznania", "uznanie", "wpływy", "wpłata",
        "příjem", "připsáno", "vklad", "kredit", "jóváírás",
        "入金", "お預入れ", "預入額", "預かり金額", "お預かり金額", "預入金額", "お預り金額", "預け入れ", "入金金額", "お預入額",
        "收入", "收入金额", "贷方金额", "贷方", "存入", "转入",
    ),
    "balance": (
        "balance", "running balance", "running bal.", "balance after", "account balance", "closing balance",
        "saldo", "kontostand", "stand", "saldo na mutatie", "solde", "behållning", "saldo po operacji",
        "zůstatek", "konečný zůstatek", "egyenleg", "likutis",
        "残高", "差引残高", "お取引後残高", "残額", "余额", "账户余额", "本次余额", "账户余额",
    ),
    "payee": (
        "payee", "description", "details", "narrative", "transaction details", "merchant", "name",
        "counterparty", "beneficiary", "recipient", "payer", "party", "transaction description", "merchant name",
        "payee name", "to/from", "counter party", "description 1",
        "empfänger", "auftraggeber", "begünstigter", "beguenstigter", "zahlungsempfänger", "gegenpartei",
        "auftraggeber/empfänger", "beschreibung", "begünstigter/zahlungspflichtiger",
        "beguenstigter/zahlungspflichtiger", "zahlungspflichtiger", "empfänger/auftraggeber", "name des partners",
        "naam", "tegenpartij", "omschrijving", "forklaring", "naam / omschrijving", "naam tegenpartij", "begunstigde",
        "libellé", "libelle", "bénéficiaire", "tiers", "libellé opération",
        "concepto", "descripción", "beneficiario", "comercio", "nombre", "descripcion",
        "descrição", "beneficiário", "descritivo", "descrizione", "mottagare", "beskrivning", "text", "namn",
        "transaktion", "beskrivelse", "mottaker", "tekst", "modtager", "saaja", "saaja/maksaja", "selite",
        "kuvaus", "opis", "kontrahent", "odbiorca", "nadawca/odbiorca", "opis operacji", "odbiorca/nadawca",
        "popis", "protistrana", "název protiúčtu", "příjemce", "název", "partner neve", "gavėjas",
        "摘要", "お取引内容", "内容", "利用店名", "ご利用店名", "取引内容", "支払先", "お取引先",
        "交易对方", "对方户名", "商户名称", "对方名称", "交易说明", "说明", "对方账户名称",
        # ko: the other party (KB Kookmin's 보낸분/받는분, "sender/recipient"), not 거래점 (the branch)
        "보낸분/받는분", "받는분/보낸분", "받는분", "보낸분", "거래처",
    ),
    "memo": (
        "memo", "notes", "note", "reference", "message", "purpose", "remittance information", "additional info",
        "verwendungszweck", "buchungstext", "zweck", "mitteilung", "notiz", "vermerk",
        "mededelingen", "notitie", "kenmerk", "référence", "communication", "motif", "remarque", "communications",
        "referencia", "observaciones", "más datos", "detalle", "referência", "observações", "notas",
        "causale", "riferimento", "dettagli", "meddelande", "referens", "anteckning", "melding", "referanse",
        "meddelelse", "notat", "viesti", "viite", "tytuł", "tytułem", "tytuł operacji", "szczegóły",
        "zpráva", "poznámka", "zpráva pro příjemce", "közlemény", "paskirtis",
        "メモ", "備考", "备注", "附言", "用途", "交易附言",
        "송금메모", "메모", "비고",
    ),
    "type": (
        "type", "transaction type", "code", "category", "kind",
        "buchungsart", "umsatzart", "art", "vorgang", "mutatiesoort", "soort", "type transactie",
        "type d'opération", "nature", "tipo", "tipo de movimiento", "tipo movimento", "tipologia", "typ",
        "transaktionstyp", "transaksjonstype", "tapahtumalaji", "laji", "rodzaj", "typ transakcji",
        "typ operacji", "typ transakce", "druh", "druh transakce", "tranzakció típusa",
        "種別", "区分", "取引区分", "交易类型", "类型", "业务类型", "交易类别",
    ),
    "currency": (
        "currency", "ccy", "curr", "währung", "wahrung", "munt", "devise", "moneda", "divisa", "moeda", "valuta",
        "valuutta", "waluta", "měna", "valiuta", "deviza", "通貨", "币种", "货币", "幣別",
    ),
    "account": (
        "account", "account number", "account no", "account no.", "card", "card no", "card no.", "card number",
        "iban", "iban/bban", "konto", "kontonummer", "rekening", "rekeningnummer", "compte",
        "numéro de compte", "cuenta", "número de cuenta", "conta", "conto", "tilinumero", "tili",
        "numer rachunku", "rachunek", "číslo účtu", "口座番号", "账号", "卡号", "számlaszám", "sąskaitos nr",
        "own account", "eigenes konto",
    ),
    "id": (
        "id", "transaction id", "unique id", "transaction reference", "transaktions-id", "transactie-id",
        "referentie", "numéro de transaction", "identificador", "id transakce", "取引番号", "交易流水号", "流水号",
    ),
    "flag": (
        "debit/credit", "credit/debit", "cr/dr", "dr/cr", "d/c", "c/d", "af bij", "af/bij", "creditdebet",
        "credit debet", "soll/haben", "s/h", "debet/credit", "d/k", "direction", "in/out", "sign", "cd",
        "debit credit indicator", "kierunek", "入出金区分", "借贷标志", "收支", "bevétel/kiadás", "inflow/outflow",
    ),
    "status": (
        "status", "state", "stav", "zustand", "estado", "statut", "stato", "tila", "stan", "状態", "状态",
    ),
    # The amount before fees, beside a net one (PayPal): not the money that moved.
    "gross": ("gross", "gross amount", "brutto", "bruto", "brut", "montant brut"),
    "fee": ("fee", "fees", "gebühr", "gebühren", "frais", "comisión", "commissione", "avgift", "gebyr", "手数料",
            "手续费"),
}

# Values (of a status column, or a date cell) that say a row is not booked yet.
PENDING_WORDS = frozenset((
    "pending", "authorised", "authorized", "vorgemerkt", "in behandeling", "en attente", "pendiente", "pendente",
    "in sospeso", "väntande", "venter", "afventer", "odottaa", "oczekująca", "čekající", "保留", "待处理",
    "未確定", "处理中", "等待付款", "待付款", "未入账", "umsatz vorgemerkt", "vorgemerkter umsatz", "in attesa",
))
_WORD = re.compile(r"\w+")


def is_pending(cell: str) -> bool:
    """Whether a status cell says its row is not booked yet: `Pending`, `Umsatz vorgemerkt`, `等待付款`."""
    text = cell.strip().casefold()
    if not text:
        return False
    if text in PENDING_WORDS:
        return True
    if text.isascii() or any(ch.isascii() and ch.isalpha() for ch in text):
        return any(word in PENDING_WORDS for word in _WORD.findall(text))
    return any(word in text for word in PENDING_WORDS if not word.isascii())

# Texts that say a row sums up rather than records, whole: such a row is left out wherever it is.
_SUMMARY_TEXT = re.compile(
    r"(?i)^(opening balance|closing balance|balance brought forward|balance carried forward|brought forward|"
    r"carried forward|turnover|total|totals|anfangssaldo|endsaldo|alter kontostand|neuer kontostand|"
    r"beginsaldo|eindsaldo|solde initial|solde final|solde précédent|nouveau solde|saldo inicial|saldo final|"
    r"saldo anterior|saldo iniziale|saldo finale|ingående saldo|utgående saldo|inngående saldo|utgående saldo|"
    r"primo saldo|ultimo saldo|alkusaldo|loppusaldo|saldo początkowe|saldo końcowe|počáteční zůstatek|"
    r"konečný zůstatek|likutis pradžiai|likutis pabaigai|apyvarta|繰越|前月繰越|期初余额|期末余额)$")
# Texts that name a balance or a sum, with a date or "carried forward" beside it (`Saldo a 31/01/2024`,
# `Kontostand am 31.01.2024`, `BALANCE C/F`, `SALDO DO DIA`, `Summe`): a summary only when its numbers
# agree (infer.py checks them), for a real payee may start so ("Balance Transfer" does not match: the
# whole text must be one of these).
_BALANCE_WORD = (
    r"balance|bal|running balance|saldo|saldi|solde|kontostand|stand|summe|sum|summa|suma|somme|soma|som|"
    r"totaal|totale|subtotal|zwischensumme|sous-total|yhteensä|razem|celkem|zůstatek|egyenleg|balans|"
    r"behållning|beholdning|restsaldo|tagessaldo|saldo diario|saldo do dia|saldo del día|saldo del giorno|"
    r"saldo dzienny|dagsaldo|päiväsaldo|solde du jour|saldo disponível|saldo disponible|saldo contabile|"
    r"残高|差引残高|合計|小計|余额|合计|小计|本日余额|当日余额")
_BALANCE_TAIL = (r"c/f|b/f|c/fwd|b/fwd|cf|bf|fwd|forward|brought forward|carried forward|do dia|del día|del dia|"
                 r"du jour|des tages|del giorno|dnia|dne|dag|päivä|dia|día|giorno|jour|tag|diario|final|actual|"
                 r"atual|attuale|aktuell|actuel|as at|as of|at|on|a|à|au|am|al|zum|zu|per|op|på|pr\.?|na dzień|"
                 r"ke dni|k|ke|del|du|de|em|en|le|il|den|der|des|om|vom|von|für|for|in|nach|bis|den|ze|z|na|"
                 r"w|dd\.?|i|v|van|di|da|do|el|la|:|-|=")
_BALANCE_TEXT = re.compile(
    rf"(?i)^(?:{_BALANCE_WORD})(?:\s*(?:{_BALANCE_TAIL}))*"
    r"(?:\s*\d{1,4}[-/.]\d{1,2}(?:[-/.]\d{1,4})?\.?|\s*\d{4}年\d{1,2}月\d{1,2}日)?\s*[:.]?$")
_SPACED_LETTERS = re.compile(r"(?:\w ){2,}\w")


def is_summary_text(cell: str) -> bool:
    """Whether a cell says its row sums up, whole: `Opening balance`, `Saldo final`, `Total`, `期末余额`."""
    return bool(_SUMMARY_TEXT.match(cell.strip()))


def is_balance_text(cell: str) -> bool:
    """Whether a cell names a balance or a sum and nothing else (`Saldo a 31/01/2024`, `S A L D O`,
    `SALDO DO DIA`, `Summe`, `Solde au 31/01/2024`, `BALANCE C/F`): the row may be a summary; its numbers
    must say so. `Balance transfer` is a transaction's text, not one of these."""
    text = " ".join(cell.split())
    if _SPACED_LETTERS.fullmatch(text):
        text = text.replace(" ", "")   # `S A L D O`, spaced out as some banks print it
    return bool(text) and bool(_BALANCE_TEXT.match(text))


_CURRENCY_CODE = re.compile(r"(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])")
# Brackets holding a unit: a currency code or symbol, "in EUR", "円"; "(Fremdwährung)" is part of the name.
_BRACKETS = re.compile(r"[(\[（【{]\s*(?:in\s+|en\s+|w\s+)?(?:[A-Z]{3}|[A-Za-z]{1,3}\$|[^\w\s]{1,3}|円|元|원|€|£|\$)?"
                       r"\s*[)\]）】}]")
_SYMBOLS = re.compile(r"[£$€¥₩₹₽₺₪₫฿₴₦₱¢円元]")
_IN_CURRENCY = re.compile(r"\s+(?:in|en|em|w|v|i)\s*$")


@lru_cache(maxsize=4096)
def strip_decoration(cell: str) -> str:
    """A header name without its currency, unit or brackets, case-folded: `Amount (GBP)` → `amount`."""
    text = cell.replace("\ufeff", "").strip().strip('"').strip()
    text = _BRACKETS.sub(" ", text)
    text = _CURRENCY_CODE.sub(" ", text)
    text = _SYMBOLS.sub(" ", text)
    text = " ".join(text.split()).casefold().strip(" :.*#-_")
    if text not in _LOOKUP:
        # "Betrag in EUR" less its code is "betrag in"; "Paid in" and "Money in" are names whole.
        text = _IN_CURRENCY.sub("", text).strip()
    return text


_LOOKUP: dict[str, str] = {}
for _role, _names in ROLE_NAMES.items():
    for _name in _names:
        _LOOKUP.setdefault(_name, _role)
# Names two roles could share are settled by content; the first role listed keeps the name above
# ("valuta" is a value date in German and a currency in Dutch and Czech), so list the extra senses.
_ALSO: dict[str, tuple[str, ...]] = {"valuta": ("currency",), "data": ("date",), "value": ("amount",),
                                     "text": ("memo",), "tekst": ("memo",), "omschrijving": ("memo",),
                                     "description": ("memo",), "details": ("memo",), "code": ("flag",),
                                     "beschreibung": ("memo",), "buchungstext": ("type",)}


def is_exact_name(cell: str) -> bool:
    """Whether the header name is one the vocabulary holds whole (`Betrag (EUR)`), not one holding it
    (`Betrag (Fremdwährung)`)."""
    return strip_decoration(cell) in _LOOKUP


@lru_cache(maxsize=4096)
def header_role(cell: str) -> tuple[str, ...]:
    """The roles a header name suggests, most likely first; () when it names none psimport knows."""
    name = strip_decoration(cell)
    if not name:
        return ()
    role = _LOOKUP.get(name)
    if role is not None:
        return (role,) + tuple(r for r in _ALSO.get(name, ()) if r != role)
    # "Buchungsdatum Valuta", "Transaction Amount EUR", "Kwota operacji w PLN": a known name as a whole
    # word inside a longer one counts too, the longest known name first.
    words = f" {name} "
    found = [(len(known), r) for known, r in _LOOKUP.items()
             if len(known) > 2 and f" {known} " in words]
    if not found and not name.isascii():
        # Japanese and Chinese write words together: 取引金額 holds 金額.
        found = [(len(known), r) for known, r in _LOOKUP.items()
                 if not known.isascii() and len(known) >= 2 and known in name]
    found.sort(reverse=True)
    return tuple(dict.fromkeys(r for _, r in found))


# Symbols and names that say one currency, case-folded. A bare `$` (a dozen countries' dollars), `¥` (yen or
# yuan) and `kr` (Swedish, Norwegian, Danish, Icelandic) name none: the account's currency is not known from them.
CURRENCY_SYMBOLS: dict[str, str] = {
    "£": "GBP", "€": "EUR", "₹": "INR", "₩": "KRW", "원": "KRW", "₽": "RUB", "₺": "TRY", "₪": "ILS", "฿": "THB",
    "₫": "VND", "₴": "UAH", "₦": "NGN", "₱": "PHP", "円": "JPY", "元": "CNY", "zł": "PLN", "kč": "CZK", "ft": "HUF",
    "r$": "BRL", "us$": "USD", "u$s": "USD", "a$": "AUD", "au$": "AUD", "nz$": "NZD", "c$": "CAD", "ca$": "CAD",
    "hk$": "HKD", "s$": "SGD", "nt$": "TWD", "mx$": "MXN", "rm": "MYR", "rp": "IDR", "лв": "BGN", "руб": "RUB",
    "euro": "EUR", "euros": "EUR", "us dollar": "USD", "australian dollar": "AUD",
    "new zealand dollar": "NZD", "canadian dollar": "CAD", "pound": "GBP", "pound sterling": "GBP",
    "sterling": "GBP", "yen": "JPY", "franken": "CHF", "swiss franc": "CHF", "real": "BRL", "reais": "BRL",
    "złoty": "PLN", "zloty": "PLN", "forint": "HUF", "rupee": "INR", "won": "KRW", "yuan": "CNY", "rmb": "CNY",
}
# In a header name only a symbol counts (`Amount (R$)`): a word such as "real" or "rm" there is no currency.
_NAME_SYMBOLS = {symbol: code for symbol, code in CURRENCY_SYMBOLS.items()
                 if not symbol.isalpha() or symbol in ("원", "円", "元", "zł", "kč")}
_DOLLARS = re.compile(r"(?i)(?<![a-z])([a-z]{1,2}\$|u\$s)")
_CODES = frozenset(("USD AUD NZD CAD CHF JPY CNY HKD SGD SEK NOK DKK PLN CZK HUF RON BGN ISK MXN BRL ZAR EUR GBP "
                    "INR KRW RUB TRY ILS THB TWD MYR IDR VND UAH NGN PHP").split())


@lru_cache(maxsize=512)
def currency_code(value: str) -> str | None:
    """The ISO code a currency cell means: `EUR`, `eur`, `€`, `Euro`, `US$` → its code; None when it names no
    one currency (`$`, `kr`, blank)."""
    text = value.strip().casefold()
    if text.upper() in _CODES:
        return text.upper()
    return CURRENCY_SYMBOLS.get(text)


def currency_in_name(cell: str) -> str | None:
    """The currency a header name is decorated with: `Amount (GBP)` → GBP, `Paid out £` → GBP, `Kwota [PLN]`
    → PLN, `valor (R$)` → BRL, `출금액(원)` → KRW; None when it names none (a bare `$` is several countries')."""
    text = cell.replace("\ufeff", "").strip()
    codes = {code for code in _CURRENCY_CODE.findall(text) if code in _CODES}
    for prefixed in _DOLLARS.findall(text):
        code = CURRENCY_SYMBOLS.get(prefixed.casefold())
        if code:
            codes.add(code)
    folded = _DOLLARS.sub(" ", text).casefold()
    codes |= {code for symbol, code in _NAME_SYMBOLS.items()
              if (symbol in folded if not symbol.isascii() else re.search(rf"(?<![a-z]){re.escape(symbol)}", folded))}
    return codes.pop() if len(codes) == 1 else None
