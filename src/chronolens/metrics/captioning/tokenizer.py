"""Pure-Python PTB tokenisation as the COCO caption pipeline (pycocoevalcap 1.2) applies it.

pycocoevalcap runs Stanford CoreNLP 3.4.1's ``PTBTokenizer -preserveLines -lowerCase`` on every
caption (newlines inside a caption replaced by spaces), then drops the tokens in
``PUNCTUATIONS``. This module re-implements that without Java: a small longest-match lexer
whose rules follow the PTBLexer grammar (words, clitics split as in "does n't", "it 's",
"gon na"; numbers, fractions, abbreviations and acronyms keeping their periods; URLs and e-mail
addresses; brackets normalised to -LRB- / -LSB- / -LCB-; quotes to LaTeX style; dashes,
ellipses and currency normalised), then lower-cases and filters like pycocoevalcap.

Quirk kept on purpose: pycocoevalcap compares the *lower-cased* tokens with the upper-case
bracket names in its punctuation list, so brackets survive as ``-lrb-``, ``-rrb-``, ``-lsb-``,
``-rsb-``, ``-lcb-``, ``-rcb-``.

Known divergences from the Java tokenizer (all rare in captions; the tests pin the agreement
rate on the golden fixture):

- Java treats ``\\r``, ``\\u2028``, ``\\u2029``, ``\\x0b``, ``\\x0c``, ``\\x85`` inside a caption as line
  breaks, which misaligns pycocoevalcap's captions with their ids; here they are spaces.
- Untokenisable characters (e.g. emoji, which Java sees as surrogate pairs) are deleted, as Java
  does by default, but the set of characters Java's lexer accepts is only approximated.
- Lower-casing uses Python's ``str.lower`` (differs from Java's for a handful of characters).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence

__all__ = ["PTB_PUNCTUATIONS", "ptb_tokenize", "ptb_tokenize_line", "whitespace_tokenize"]

# Tokens pycocoevalcap drops after tokenisation (compared case-sensitively, after lower-casing).
PTB_PUNCTUATIONS = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"]
)


def _bmp_class(categories: tuple[str, ...]) -> str:
    """A regex character class of the BMP characters in the given Unicode categories.

    Java's lexer sees UTF-16 units, so letters and digits outside the BMP are not letters for it
    (they are untokenisable and dropped).
    """
    ranges: list[str] = []
    start = -1
    for code in range(0x10000 + 1):
        inside = code < 0x10000 and unicodedata.category(chr(code)) in categories
        if inside and start < 0:
            start = code
        elif not inside and start >= 0:
            ranges.append(f"\\u{start:04x}" if start == code - 1 else f"\\u{start:04x}-\\u{code - 1:04x}")
            start = -1
    return "".join(ranges)


# Character classes of the PTB lexer grammar ([:letter:] and [:digit:] as Java defines them).
_LETTERS = _bmp_class(("Lu", "Ll", "Lt", "Lm", "Lo"))
_DIGITS = _bmp_class(("Nd",))
_LETTER = f"[{_LETTERS}]"
_DIGIT = f"[{_DIGITS}]"
_ALNUM = f"[{_LETTERS}{_DIGITS}]"
_SPACE = r"[ \t\u00a0\u2000-\u200a\u3000]"
_NEWLINE = r"(?:\r\n|[\r\n\u2028\u2029\x0b\x0c\x85])"
_SPACENL = rf"(?:{_SPACE}|{_NEWLINE})"
_APOS = r"(?:['\u0092\u2019]|&apos;)"
_APOSETC = r"(?:['\u0092\u2019\u0091\u2018\u201b]|&apos;)"
_WORD_CHAR = rf"(?:{_LETTER}|[\u00ad\u0300-\u036f])"
_WORD = rf"{_WORD_CHAR}(?:{_WORD_CHAR}|{_DIGIT})*(?:[.!?]{_WORD_CHAR}(?:{_WORD_CHAR}|{_DIGIT})*)*"
_REDAUX = rf"{_APOS}(?:[msdMSD]|(?i:re|ve|ll))"
_SWORD = r"[A-Za-z\u00ad]*[A-MO-Za-mo-z]\u00ad*"
_SREDAUX = rf"(?i:n){_APOSETC}(?i:t)"
_NUM = rf"(?:{_DIGIT}*(?:[.:,\u00ad\u066b\u066c]{_DIGIT}+)+|{_DIGIT}+)"
_NUMBER = rf"[\-+]?{_NUM}"
_ACRO = r"(?:[A-Za-z](?:\.[A-Za-z])+|(?:Canada|Sino|Korean|EU|Japan|non)-U\.S|U\.S\.-(?:U\.K|U\.S\.S\.R))"
_ABMONTH = r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
_ABDAYS = r"Mon|Tues|Tue|Thurs|Thu|Wed|Fri"
_ABSTATE = (
    r"Ala|Ariz|(?-i:A)rk|Calif|Colo|Conn|Dak|Del|Fla|Ga|(?-i:I)ll|Ind|Kans?|Ky|La|(?-i:M)ass|Md|Mich|Minn|"
    r"(?-i:M)iss|Mo|Mont|Neb|Nev|Okla|(?-i:O)re|Pa|Penn|Tenn|Tex|Va|Vt|(?-i:W)ash|Wisc?|Wyo"
)
_ABCOMP = r"Inc|Cos?|Corp|Pp?tys?|Ltd|Plc|Bancorp|Dept|Bhd|Assn|Univ|Intl|Sys"
_ABNUM = r"Nos?|Prop|Ph|tel|est|ext|sq|ft"
_ABPTIT = r"Jr|Sr|Bros|(?:Ed|Ph)\.D|Blvd|Rd|Esq"
_ABBREV1 = rf"(?i:{_ABPTIT}|{_ABMONTH}|{_ABDAYS}|{_ABSTATE}|{_ABCOMP}|{_ABNUM}|etc|al|seq)\."
_ABTITLE = (
    r"Mrs|Mr|Ms|(?-i:M)iss|Drs?|Profs?|Sens?|Reps?|Attys?|Lt|Col|Gen|Messrs|Govs?|Adm|Rev|Maj|Sgt|Cpl|Pvt|Mt|"
    r"Capt|Ste?|Ave|Pres|Lieut|Hon|Brig|Co?mdr|Pfc|Spc|Supts?|Det"
)
_ABBREV4 = rf"(?i:{_ACRO}|{_ABTITLE}|vs|Alex|Wm|Jos|Cie|a\.k\.a|cf|TREAS|Invt|Elec|Natl|M[ft]g|[A-Za-z])"
_HYPHEN = r"[-_\u058a\u2010\u2011]"
_THING = rf"(?:[dDoOlL]{_APOSETC}{_ALNUM})?{_ALNUM}+(?:{_HYPHEN}(?:[dDoOlL]{_APOSETC}{_ALNUM})?{_ALNUM}+)*"
_HTHING = rf"[A-Za-z0-9][A-Za-z0-9.,\u00ad]*(?:-(?:[A-Za-z0-9\u00ad]+|{_ACRO}\.))+"
_APOWORD = (
    rf"{_APOS}(?i:n){_APOS}?|[lLdDjJ]{_APOS}|(?i:Dunkin){_APOS}|(?i:somethin){_APOS}|(?i:ol){_APOS}|"
    rf"{_APOS}(?i:em)|[A-HJ-XZn]{_APOSETC}{_LETTER}{{2}}{_LETTER}*|{_APOS}[2-9]0(?i:s)|{_APOS}(?i:till?)|"
    rf"{_LETTER}+[aeiouyAEIOUY]{_APOSETC}[aeiouA-Z]{_LETTER}*|{_APOS}(?i:cause)|"
    r"(?i:cont'd\.?|nor'easter|c'mon|e'er|s'mores|ev'ry|li'l|nat'l)"
)
_QUOTES = (
    rf"[`\u2018\u2019\u201a\u201b\u201c\u201d\u0091\u0092\u0093\u0094\u201e\u201f\u2039\u203a"
    rf"\u00ab\u00bb]{{1,2}}|''|{_APOS}"
)
_MISCSYMBOL = (
    r"[\u00a6\u00a7\u00a8\u00a9\u00ac\u00ae\u00af\u00b0-\u00ba\u00d7\u00f7\u0387\u2020-\u2023\u2032-\u2038"
    r"\u2044\u207a-\u207f\u208a-\u208e\u2100-\u214f\u2190-\u21ff\u2200-\u2bff"
    r"\u3012\u30fb\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]"
)
_SMILEY = r"[<>]?[:;=][\-o\*']?[\(\)DPdpO\\{@\|\[\]]"

_BRACKETS = {"(": "-LRB-", ")": "-RRB-", "[": "-LSB-", "]": "-RSB-", "{": "-LCB-", "}": "-RCB-"}
_CURRENCY = {"\u00a2": "cents", "\u00a3": "#", "\u0080": "$", "\u00a4": "$", "\u20a0": "$", "\u20ac": "$"}
_FRACTIONS = {"\u00bc": "1/4", "\u00bd": "1/2", "\u00be": "3/4", "\u2153": "1/3"}
_MDASH = "--"
_ELLIPSIS = "..."
# Words the lexer splits before their last 2 letters (gonna -> gon na); "cannot" -> can not.
_ASSIMILATIONS = {
    "cannot": 3,
    "gonna": 2,
    "gotta": 2,
    "lemme": 2,
    "gimme": 2,
    "wanna": 2,
    "'twas": 3,
    "'tis": 2,
}
_SPECIAL_WORDS = frozenset(_ASSIMILATIONS)

# An action maps the matched main text to (output token or None to drop, characters consumed).
_Action = Callable[[str], tuple[str | None, int]]


def _keep(text: str) -> tuple[str | None, int]:
    return text, len(text)


def _drop(text: str) -> tuple[str | None, int]:
    return None, len(text)


def _latex_quotes(text: str, left: bool) -> str:
    text = re.sub(r"&apos;|'", "`" if left else "'", text)
    text = re.sub(r'"|&quot;', "``" if left else "''", text)
    text = re.sub("[\u0091\u2018\u201b\u2039]", "`", text)
    text = re.sub("[\u0092\u2019\u203a]", "'", text)
    text = re.sub("[\u0093\u201c\u00ab]", "``", text)
    return re.sub("[\u0094\u201d\u00bb]", "''", text)


def _quote(left: bool) -> _Action:
    return lambda text: (_latex_quotes(text, left), len(text))


def _fixed(token: str) -> _Action:
    return lambda text: (token, len(text))


def _assimilation(text: str) -> tuple[str | None, int]:
    keep = len(text) - _ASSIMILATIONS[text.replace("\u2019", "'").lower()]
    return text[:keep], keep


def _hyphens(text: str) -> tuple[str | None, int]:
    return (_MDASH if 3 <= len(text) <= 4 else text), len(text)


def _frac(text: str) -> tuple[str | None, int]:
    return text.replace(" ", "\u00a0"), len(text)


def _translate(table: Mapping[str, str]) -> _Action:
    return lambda text: ("".join(table.get(ch, ch) for ch in text), len(text))


def _amp(text: str) -> tuple[str | None, int]:
    return re.sub("(?i)&amp;", "&", text), len(text)


def _smiley(text: str) -> tuple[str | None, int]:
    # Only round brackets are normalised inside smileys and phone numbers (":-rrb-", ":]").
    return text.replace("(", _BRACKETS["("]).replace(")", _BRACKETS[")"]), len(text)


# (pattern with the token text in group "t" and optional trailing context after it, action), in
# the lexer's priority order: the longest match (token + trailing context) wins, ties go to the
# earlier rule.
_RULE_SPECS: list[tuple[str, _Action]] = [
    (r"(?P<t>(?i:cannot|gonna|gotta|lemme|gimme|wanna))", _assimilation),
    (rf"(?P<t>{_APOS}(?i:twas|tis))", _assimilation),
    (r"(?P<t>(?i:c\+\+|[cf]#))", _keep),
    (r"(?P<t>@[a-zA-Z_][a-zA-Z_0-9]*|#[a-zA-Z]+)", _keep),
    (r"(?P<t><\/?[A-Za-z!][^>]*>)", _keep),
    (r"(?P<t>&(?:MD|mdash|ndash);|[\u0096\u0097\u2013\u2014\u2015])", _fixed(_MDASH)),
    (r"(?P<t>&amp;)", _amp),
    (r"(?P<t>&(?:HT|TL|UR|LR|QC|QL|QR|odq|cdq|#[0-9]+);)", _keep),
    # Observed in CoreNLP 3.4.1: an ABBREV1 abbreviation glued to one letter splits after its period.
    (rf"(?P<t>{_ABBREV1})(?=[A-Za-z](?![A-Za-z]))", _keep),
    (rf"(?P<t>{_WORD})(?={_REDAUX})", _keep),
    (rf"(?P<t>{_SWORD})(?={_SREDAUX})", _keep),
    (rf"(?P<t>{_WORD})", _keep),
    (rf"(?P<t>{_APOWORD})", _keep),
    (rf"(?P<t>(?i:y){_APOS})(?={_LETTER})", _keep),
    (r"(?P<t>(?i:https?):\/\/[^ \t\n\f\r\"<>|()]+[^ \t\n\f\r\"<>|.!?(){},-])", _keep),
    (
        r"(?P<t>(?:(?:(?i:www)\.(?:[^ \t\n\f\r\"<>|.!?(){},]+\.)+[a-zA-Z]{2,4})|"
        r"(?:(?:[^ \t\n\f\r\"`'<>|.!?(){},\-_$]+\.)+(?i:com|net|org|edu)))"
        r"(?:\/[^ \t\n\f\r\"<>|()]+[^ \t\n\f\r\"<>|.!?(){},-])?)",
        _keep,
    ),
    (
        r"(?P<t>(?:&lt;|<)?[a-zA-Z0-9][^ \t\n\f\r\"<>|()\u00a0{}]*@(?:[^ \t\n\f\r\"<>|(){}.\u00a0]+\.)*"
        r"[^ \t\n\f\r\"<>|(){}.\u00a0]+(?:&gt;|>)?)",
        _keep,
    ),
    (rf"(?P<t>{_REDAUX})(?=[^A-Za-z]|$)", _quote(left=False)),
    (rf"(?P<t>{_SREDAUX})", _quote(left=False)),
    (rf"(?P<t>{_DIGIT}{{1,2}}[\-\/]{_DIGIT}{{1,2}}[\-\/]{_DIGIT}{{2,4}})", _keep),
    (rf"(?P<t>{_NUMBER})", _keep),
    (
        r"(?P<t>[\u207a\u207b\u208a\u208b]?(?:[\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+|[\u2080-\u2089]+))",
        _keep,
    ),
    (rf"(?P<t>(?:{_DIGIT}{{1,4}}[- \u00a0])?{_DIGIT}{{1,4}}(?:\\?\/|\u2044){_DIGIT}{{1,4}})", _frac),
    (r"(?P<t>[\u00bc\u00bd\u00be\u2153])", _translate(_FRACTIONS)),
    (
        r"(?P<t>(?i:-(?:RRB|LRB|RCB|LCB|RSB|LSB)-|C\.D\.s|pro-|anti-|S(?:&|&amp;)P-500|S(?:&|&amp;)Ls)|"
        rf"(?i:Cap){_APOS}(?i:n)|(?i:c){_APOS}(?i:est))",
        _amp,
    ),
    (r"(?P<t>[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}(?:\\?\/[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}){1,2})", _keep),
    (r"(?P<t>[A-Z]*\$|#)", _keep),
    (
        r"(?P<t>[\u00a2\u00a3\u00a4\u00a5\u0080\u20a0\u20ac\u060b\u0e3f\u20a4\uffe0\uffe1\uffe5\uffe6])",
        _translate(_CURRENCY),
    ),
    (rf"(?P<t>{_ACRO}\.)", _keep),
    (rf"(?P<t>{_ABBREV1})", _keep),
    (rf"(?P<t>{_ABBREV4}\.)", _keep),
    (rf"(?P<t>{_ABBREV4})(?={_SPACE})", _keep),
    (rf"(?P<t>{_ACRO})(?={_SPACENL})", _keep),
    (rf"(?P<t>{_APOS}[0-9][0-9])(?={_SPACENL})", _keep),
    (rf"(?P<t>{_WORD}\.)(?=[,;:])", _keep),
    (r"(?P<t>(?:\([0-9]{3}\)[ \u00a0]?|[0-9]{3}[\- \u00a0.])[0-9]{3}[\- \u00a0.][0-9]{4})", _smiley),
    (r'(?P<t>"|&quot;)(?=[A-Za-z0-9$])', _quote(left=True)),
    (r'(?P<t>"|&quot;)', _quote(left=False)),
    (r"(?P<t>[+%&\u2030\u2031~^|\\])", _keep),
    (r"(?P<t>[<>])", _keep),
    (r"(?P<t>\[)", _fixed("-LSB-")),
    (r"(?P<t>\])", _fixed("-RSB-")),
    (r"(?P<t>\{)", _fixed("-LCB-")),
    (r"(?P<t>\})", _fixed("-RCB-")),
    (r"(?P<t>\()", _fixed("-LRB-")),
    (r"(?P<t>\))", _fixed("-RRB-")),
    (r"(?P<t>-+)", _hyphens),
    (r"(?P<t>\.{3,5}|(?:\.[ \u00a0]){2,4}\.|[\u0085\u2026])", _fixed(_ELLIPSIS)),
    (r"(?P<t>@+|#+|_+)", _keep),
    (r"(?P<t>\*+|(?:\\\*){1,3})", _keep),
    (r"(?P<t>[,;:])", _keep),
    (r"(?P<t>[?!]+)", _keep),
    (r"(?P<t>[.\u00a1\u00bf\u037e\u0589\u061f\u06d4\u0700-\u0702\u07fa])", _keep),
    (r"(?P<t>=)", _keep),
    (r"(?P<t>\/)", _keep),
    (rf"(?P<t>{_HTHING}\.)(?=[,;:])", _keep),
    (rf"(?P<t>{_HTHING})", _keep),
    (rf"(?P<t>{_THING}\.)(?=[,;:])", _keep),
    (rf"(?P<t>{_THING})", _keep),
    (r"(?P<t>[A-Z]+(?:(?:[+&]|&amp;)[A-Z]+)+)", _amp),
    (r"(?P<t>')(?=[A-Za-z][^ \t\n\r\u00a0])", _quote(left=True)),
    (rf"(?P<t>{_REDAUX})", _quote(left=False)),
    (rf"(?P<t>{_QUOTES})", _quote(left=False)),
    (rf"(?P<t>{_SMILEY})(?=[^A-Za-z]|$)", _smiley),
    (rf"(?P<t>{_MISCSYMBOL})", _keep),
    (rf"(?P<t>(?:{_SPACE}|{_NEWLINE}|[\x00\u200b\u200e\u200f\ufeff])+)", _drop),
]
# Trailing-context rules: the lookahead counts towards the match length, as in JFlex.
_RULES = [
    (re.compile(spec.replace("(?=", "(?P<c>", 1) if "(?=" in spec else spec), action)
    for spec, action in _RULE_SPECS
]
_PLAIN_WORD = re.compile(r"[A-Za-z]+(?= |$)")


def _next_token(line: str, pos: int) -> tuple[str | None, int]:
    """Longest match at ``pos`` over all rules (ties: earliest rule); unmatched chars are dropped."""
    best_length = 0
    best: tuple[str | None, int] = (None, 1)
    for pattern, action in _RULES:
        match = pattern.match(line, pos)
        if match is None:
            continue
        length = match.end() - pos
        if length > best_length:
            best_length = length
            best = action(match.group("t"))
    return best


def ptb_tokenize_line(line: str) -> list[str]:
    """Tokenise one caption like ``PTBTokenizer -preserveLines -lowerCase`` (before filtering).

    Args:
        line: one raw caption.

    Returns:
        The lower-cased tokens, punctuation included.
    """
    tokens: list[str] = []
    pos = 0
    length = len(line)
    while pos < length:
        plain = _PLAIN_WORD.match(line, pos)
        if plain is not None and plain.group().lower() not in _SPECIAL_WORDS:
            # Fast path: an ASCII word followed by a space or the end can only lex as itself.
            tokens.append(plain.group().lower())
            pos = plain.end()
            continue
        token, consumed = _next_token(line, pos)
        if token is not None:
            tokens.append(token.lower())
        pos += max(consumed, 1)
    return tokens


def ptb_tokenize(captions: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Tokenise captions as pycocoevalcap's ``PTBTokenizer.tokenize`` does, without Java.

    Args:
        captions: id -> raw captions (plain strings; COCO ``{"caption": ...}`` dicts are accepted
            too).

    Returns:
        id -> tokenised captions (space-joined tokens, lower-cased, punctuation removed), in
        input order.
    """
    out: dict[str, list[str]] = {}
    for key, items in captions.items():
        texts = [item["caption"] if isinstance(item, Mapping) else item for item in items]
        out[key] = [
            " ".join(tok for tok in ptb_tokenize_line(text.replace("\n", " ")) if tok not in PTB_PUNCTUATIONS)
            for text in texts
        ]
    return out


def whitespace_tokenize(captions: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The ``tokenizer="none"`` path: captions are passed through unchanged (as lists).

    The scorers then split on whitespace themselves, exactly as pycocoevalcap's scorers do when
    called directly on raw strings.

    Args:
        captions: id -> raw captions (strings or COCO ``{"caption": ...}`` dicts).

    Returns:
        id -> the same captions as a list of strings.
    """
    return {
        key: [item["caption"] if isinstance(item, Mapping) else item for item in items]
        for key, items in captions.items()
    }
