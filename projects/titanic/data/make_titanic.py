"""Generate Titanic.csv: 891 synthetic passengers with the real Kaggle columns and quirks.

Deterministic (seeded numpy): running it again reproduces the shipped file byte for byte.
Survival depends on sex, class, age and family size, so a model has something to learn;
Age, Cabin and Embarked are missing about as often as in the real data.

    python make_titanic.py [OUTPUT_FOLDER]     # default: the folder of this script
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

SEED = 1912
ROWS = 891
COLUMNS = [
    "PassengerId",
    "Survived",
    "Pclass",
    "Name",
    "Sex",
    "Age",
    "SibSp",
    "Parch",
    "Ticket",
    "Fare",
    "Cabin",
    "Embarked",
]

SURNAMES = (
    "Braund Cumings Heikkinen Futrelle Allen Moran McCarthy Palsson Johnson Nasser Sandstrom "
    "Bonnell Saundercock Andersson Vestrom Hewlett Rice Williams Vander Masselmani Fynney "
    "Beesley McGowan Sloper Asplund Emir Fortune Todoroff Uruchurtu Spencer Glynn Wheadon "
    "Meyer Holverson Mamee Cann Nicola-Yarred Ahlin Turpin Kraeff Laroche Devaney Rugg Harris "
    "Skoog Hickman Goodwin Chaffee Kelly Moubarek Nysten Zabour Jussila Attalah Baxter Hansen "
    "Lester Carter Partner Walker Strom Olsen Hood Dodge Navratil Brown Harper Smith Ward Gale"
).split()
MALE_FIRST = (
    "Owen John William James Thomas Henry Charles George Frederick Arthur Albert Edward "
    "Joseph Patrick Karl Johan Leo Ernst Hans Samuel Walter Harry Alfred Richard Daniel"
).split()
FEMALE_FIRST = (
    "Mary Margaret Elizabeth Anna Helen Florence Alice Ellen Edith Bertha Laina Lily Marie "
    "Catherine Elsie Ida Hilda Emily Agnes Kate Nora Jane Ruth Sarah Eleanor Grace"
).split()
RARE_MALE_TITLES = ("Dr", "Rev", "Col", "Major", "Capt", "Sir", "Don", "Jonkheer")
RARE_FEMALE_TITLES = ("Mlle", "Ms", "Mme", "Lady", "Countess", "Dr")
TICKET_PREFIXES = ("A/5", "PC", "STON/O2.", "C.A.", "SOTON/O.Q.", "W./C.", "CA", "S.O.C.")


def passenger_name(rng: np.random.Generator, surname: str, title: str, female: bool) -> str:
    if title == "Mrs":
        husband = rng.choice(MALE_FIRST)
        maiden = f"{rng.choice(FEMALE_FIRST)} {rng.choice(SURNAMES)}"
        return f"{surname}, Mrs. {husband} ({maiden})"
    firsts = FEMALE_FIRST if female else MALE_FIRST
    given = " ".join(rng.choice(firsts, size=int(rng.integers(1, 3)), replace=False))
    return f"{surname}, {title}. {given}"


def pick_title(rng: np.random.Generator, female: bool, age: float, pclass: int) -> str:
    if female:
        if pclass == 1 and rng.random() < 0.04:
            return str(rng.choice(RARE_FEMALE_TITLES))
        married = age >= 18 and rng.random() < min(0.85, (age - 14) / 25)
        return "Mrs" if married else "Miss"
    if age < 13:
        return "Master"
    if pclass < 3 and age > 30 and rng.random() < 0.06:
        return str(rng.choice(RARE_MALE_TITLES))
    return "Mr"


def draw_age(rng: np.random.Generator, pclass: int) -> float:
    if rng.random() < 0.08:
        age = rng.uniform(0.4, 12)
    else:
        centre, spread = {1: (38, 13), 2: (30, 12), 3: (25, 10)}[pclass]
        age = float(np.clip(rng.normal(centre, spread), 13, 80))
    if age < 1:
        return round(age, 2)  # infants are in months: 0.83, 0.42
    return float(round(age)) if rng.random() < 0.9 else round(age) + 0.5


def draw_ticket(rng: np.random.Generator, pclass: int) -> str:
    number = int(rng.integers(1000, 400000))
    if rng.random() < (0.45 if pclass == 1 else 0.25):
        return f"{rng.choice(TICKET_PREFIXES)} {number}"
    return str(number)


def draw_cabin(rng: np.random.Generator, pclass: int) -> str:
    present = {1: 0.8, 2: 0.08, 3: 0.03}[pclass]
    if rng.random() >= present:
        return ""
    deck = rng.choice(list("ABCDE") if pclass == 1 else list("DEFG"))
    rooms = [f"{deck}{int(rng.integers(2, 130))}" for _ in range(1 + int(rng.random() < 0.1))]
    return " ".join(rooms)


def survival_probability(female: bool, pclass: int, age: float, family: int) -> float:
    score = -1.6 + (3.2 if female else 0.0) + {1: 1.5, 2: 0.5, 3: -1.0}[pclass]
    score += 2.0 if age < 10 else (-0.6 if age > 60 else 0.0)
    score += -2.2 if family >= 5 else (0.3 if 2 <= family <= 4 else 0.0)
    return 1 / (1 + np.exp(-score))


def passengers(rng: np.random.Generator) -> list[list[str]]:
    rows = []
    for pid in range(1, ROWS + 1):
        pclass = int(rng.choice([1, 2, 3], p=[0.24, 0.21, 0.55]))
        female = rng.random() < {1: 0.44, 2: 0.41, 3: 0.29}[pclass]
        age = draw_age(rng, pclass)
        title = pick_title(rng, female, age, pclass)
        child = age < 13
        sibsp = int(rng.choice([0, 1, 2, 3, 4, 5], p=[0.68, 0.23, 0.03, 0.02, 0.02, 0.02]))
        parch = (
            int(rng.integers(1, 3)) if child else int(rng.choice([0, 1, 2], p=[0.8, 0.12, 0.08]))
        )
        family = 1 + sibsp + parch
        base_fare = {1: (4.1, 0.6), 2: (2.8, 0.35), 3: (2.1, 0.3)}[pclass]
        fare = float(np.exp(rng.normal(*base_fare))) * (1 + 0.25 * (family - 1))
        if rng.random() < 0.015:
            fare = 0.0  # crew-ticket passengers paid nothing
        survived = int(rng.random() < survival_probability(female, pclass, age, family))
        missing_age = rng.random() < {1: 0.14, 2: 0.07, 3: 0.26}[pclass]
        embarked = str(
            rng.choice(
                ["S", "C", "Q"],
                p={1: [0.6, 0.38, 0.02], 2: [0.9, 0.07, 0.03], 3: [0.72, 0.13, 0.15]}[pclass],
            )
        )
        rows.append(
            [
                str(pid),
                str(survived),
                str(pclass),
                passenger_name(rng, str(rng.choice(SURNAMES)), title, female),
                "female" if female else "male",
                "" if missing_age else format_number(age),
                str(sibsp),
                str(parch),
                draw_ticket(rng, pclass),
                format_number(round(fare, 4)),
                draw_cabin(rng, pclass),
                embarked,
            ]
        )
    for pid in (62, 830):  # the two passengers whose port of embarkation is unknown
        rows[pid - 1][11] = ""
    return rows


def format_number(x: float) -> str:
    """Like the Kaggle file: 22, 28.5, 0.83, 7.25, 71.2833."""
    return f"{x:.4f}".rstrip("0").rstrip(".")


def write_csv(path: Path) -> None:
    rng = np.random.default_rng(SEED)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(passengers(rng))


def main(argv: list[str]) -> int:
    out = (Path(argv[0]) if argv else Path(__file__).parent) / "Titanic.csv"
    write_csv(out)
    print(f"wrote {ROWS} passengers to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
