"""Build common-passwords.txt: weak passwords that the password policy refuses.

Run from the repository root: python wellbeing/security/data/build_common_passwords.py

The list is not copied from any leaked data set. It is generated from patterns that
published analyses of leaked passwords report as the most common:
- the top entries of the widely reported yearly "most common passwords" lists
  (SplashData 2011-2019, NordPass 2019-2024) and of the analyses of the 2011 CSDN and
  Tianya leaks in China (123456789, 11111111, dearbook, 5201314, woaini1314, ...);
- repeated characters and units, ascending and descending digit runs, keyboard walks
  (qwertyuiop, 1qaz2wsx, 1q2w3e4r, qazwsxedc);
- Chinese love numbers (520 "I love you", 1314 "for life", 5201314, 7758521) and pinyin
  (woaini, surnames such as zhang or wang) with digit suffixes;
- everyday words, role names and this product's names with the suffixes people add
  (123, 123456, 888, 520, 1314, a year, "!", "@123"), and leetspeak (p@ssw0rd);
- factory passwords of network and office equipment (Admin@123, Huawei@123, P@ssw0rd);
- the published demo password of this application.
Entries are lower case (the check is case-insensitive), unique, sorted, 6 characters or
longer (anything shorter fails every sensible minimum length anyway).
"""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).with_name("common-passwords.txt")
MIN_LENGTH = 6

TOP = """
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123
baseball abc123 football monkey letmein 696969 shadow master 666666 qwertyuiop 123321
mustang 1234567890 michael 654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx
123qwe killer trustno1 jordan jennifer zxcvbnm asdfgh hunter buster soccer harley
batman andrew tigger sunshine iloveyou charlie robert thomas hockey ranger daniel
starwars klaster 112233 george computer michelle jessica pepper zxcvbn 555555
11111111 131313 freedom 777777 maggie 159753 aaaaaa ginger princess joshua cheese
amanda summer ashley nicole chelsea biteme matthew access yankees 987654321 dallas
austin thunder taylor matrix welcome passw0rd password1 password123 qwerty123
1q2w3e4r 1q2w3e4r5t 1q2w3e zaq12wsx qwe123 abc123456 aa123456 123abc secret login
hello123 welcome1 admin123 changeme default letmein1 q1w2e3r4 q1w2e3r4t5 1qazxsw2
qweasdzxc asdfghjkl asdf1234 1234qwer qwer1234 a1b2c3d4 dearbook 00000000 123123123
88888888 111111111 147258369 aaaaaaaa 1111111111 66666666 a123456789 11223344
xiazhili 789456123 87654321 qqqqqqqq 000000000 qq123456 31415926 12344321 0000000000
1q2w3e4r 123456abc 0123456789 123654789 12121212 qazwsxedc abcd1234 12341234 110110110
asdasdasd 123456aa 22222222 123321123 a12345678 123456123 a1234567 qwe123456
5201314 woaini1314 1314520 520520 5211314 584520 7758521 7758258 147258 159357
123654 521521 woaini520 iloveyou1314 aini1314 520131400 123456789a 12345678910
1234554321 123456654321 1122334455 11112222 12345678a 1234567a a123456 a12345
iloveyou520 woaini123 woainima woaiwojia 1qaz2wsx3edc zxcvbnm123 qwertyuiop123
asdfghjkl123 password12 password1234 admin1234 admin12345 admin123456 root123
root123456 test123456 abcdefg abcdefgh abcdefghij 9876543210 0987654321 1029384756
qazwsx123 1qaz1qaz 2wsx3edc !qaz2wsx 1qaz!qaz 1qaz@wsx 1qaz@wsx3edc !qaz@wsx
p@ssw0rd p@ssword p@ssw0rd123 passw0rd! password! password@123 admin@123 admin@1234
admin@12345 admin123! huawei@123 huawei12#$ abc@123456 abc123456! aa123456! aa@123456
qq123456789 root@123 test@123 welcome1! changeme123 sys123456 a1234567890 ab123456
abc12345678 zxc123456 asd123456 qwe123456789 wangyut2 tianya123 qq5201314
wellbeing-demo
"""

# Digit runs and repeats: a..b joined, wrapping at 9.
DIGITS = "0123456789"
KEYBOARD_WALKS = [
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm",
    "1q2w3e4r5t6y7u8i9o0p",
    "q1w2e3r4t5y6u7i8o9p0",
    "qazwsxedcrfvtgbyhnujm",
    "zaq1xsw2cde3vfr4bgt5",
    "poiuytrewqlkjhgfdsamnbvcxz",
    "qweasdzxcrtyfghvbn",
    "1234qwerasdfzxcv",
    "!qaz@wsx#edc$rfv",
    "!@#$%^&*()",
    "1qaz2wsx!qaz@wsx",
    "abcdefghijklmnopqrstuvwxyz",
    "zyxwvutsrqponmlkjihgfedcba",
]
UNITS = [
    "12",
    "21",
    "ab",
    "abc",
    "123",
    "321",
    "520",
    "521",
    "1314",
    "qwe",
    "asd",
    "zxc",
    "1234",
    "aa",
    "a1",
    "1a",
    "qq",
    "110",
    "147",
    "258",
    "369",
    "159",
    "357",
    "168",
    "1q2w",
    "5201314",
    "woaini",
    "love",
    "haha",
    "hehe",
    "xixi",
    "abcd",
    "1122",
]
SURNAMES = (
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo"
    " zheng liang xie song tang han feng deng cao peng zeng xiao tian dong yuan pan"
)
WORDS = (
    "password passwd pass admin administrator root user test guest welcome hello"
    " iloveyou woaini aini qwerty abc abcd love baby monkey dragon master shadow"
    " sunshine princess football baseball superman batman letmein trustno1 computer"
    " internet school student teacher xuesheng laoshi xuexiao xinli jiankang wellbeing"
    " counselor doctor yisheng banzhuren china zhongguo beijing shanghai sichuan luzhou"
    " jiangyang qq wechat weixin baidu taobao system manager office jiaoyu jiaowu"
    " xiaozhang kaoshi huawei zxcvbnm asdfghjkl qwertyuiop qazwsx 1qaz2wsx 1q2w3e4r"
    " a b aa ab abc qwe asd zxc wo"
)
SUFFIXES = (
    [""]
    + ["1", "12", "123", "1234", "12345", "123456", "1234567", "12345678", "123456789"]
    + ["1314", "520", "521", "5201314", "666", "888", "8888", "000", "111", "007", "88", "99"]
    + ["!", "!!", "@123", "123!", "123.", "@1234", "#123", "@", ".", "0", "01", "00"]
    + [str(year) for year in range(1990, 2031)]
    + ["@" + str(year) for year in range(2018, 2031)]
)
LEET = str.maketrans({"a": "@", "o": "0", "i": "1", "e": "3", "s": "$"})
# Words people commonly write in leetspeak (p@ssw0rd, @dmin).
LEET_WORDS = {"password", "passwd", "pass", "admin", "welcome", "iloveyou", "qwerty", "root"}


def digit_runs() -> set[str]:
    runs = set()
    for start in range(10):
        for length in range(MIN_LENGTH, 21):
            up = "".join(DIGITS[(start + k) % 10] for k in range(length))
            runs.add(up)
            runs.add(up[::-1])
    for base in ("123456789", "1234567890", "12345678", "1234567"):
        runs.add(base + base[::-1])
        runs.add(base + base)
    return runs


def repeats() -> set[str]:
    found = set()
    for char in DIGITS + "abcdefghijklmnopqrstuvwxyz":
        found.update(char * n for n in range(MIN_LENGTH, 21))
    for unit in UNITS:
        text = unit
        while len(text) <= 20:
            text += unit
            found.add(text)
    return found


def walks() -> set[str]:
    return {walk[:n] for walk in KEYBOARD_WALKS for n in range(MIN_LENGTH, len(walk) + 1)}


def words_with_suffixes() -> set[str]:
    found = set()
    for word in WORDS.split() + SURNAMES.split():
        for suffix in SUFFIXES:
            found.add(word + suffix)
            if word in LEET_WORDS:
                found.add(word.translate(LEET) + suffix)
    return found


def build() -> list[str]:
    entries = set(TOP.split()) | digit_runs() | repeats() | walks() | words_with_suffixes()
    return sorted({entry.lower() for entry in entries if len(entry) >= MIN_LENGTH})


def main() -> None:
    header = [
        "# Common passwords refused by the password policy (case-insensitive), one a line.",
        "# Generated by build_common_passwords.py from documented weak-password patterns",
        "# (the top of published most-common-password lists, digit runs and repeats,",
        "# keyboard walks, Chinese love numbers and pinyin, words with common suffixes,",
        "# equipment factory passwords); see that script for the method. No leaked data.",
    ]
    OUT.write_text("\n".join(header + build()) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
