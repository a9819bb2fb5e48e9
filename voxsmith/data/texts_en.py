"""English templates and word lists for the corpus text generator (written for voxsmith).

Everyday vocabulary chosen by hand to cover the ARPAbet inventory (including the rarer
ZH, OY, TH/DH and syllabic clusters); homograph sentences use both readings of words like
read, lead, wind, tear, record, present, live, close and object. Nothing here was
downloaded or copied from a corpus.
"""

from __future__ import annotations

SLOTS: dict[str, tuple[str, ...]] = {
    "person": (
        "I", "You", "We", "They", "My sister", "Our teacher", "The old fisherman", "A young doctor",
        "Your neighbor", "The bus driver", "My grandfather", "The new manager", "Emma", "Oliver",
        "The children", "A tired nurse", "The chef", "Her cousin", "The pilot", "Professor Lee",
        "The shy boy", "Jacob's mother", "The jazz singer", "A quiet student",
    ),
    "someone": (
        "your sister", "the old fisherman", "the bus driver", "Emma", "Oliver", "the new manager",
        "the pilot", "Professor Lee", "the jazz singer", "a quiet student", "her cousin", "the chef",
    ),
    "time": ("every Sunday", "after lunch", "at noon", "once a month", "on weekdays", "every morning"),
    "past": (
        "this morning", "last night", "yesterday afternoon", "before dawn", "last summer", "on Monday",
        "two days ago", "during the holidays",
    ),
    "future": (
        "next week", "tomorrow evening", "on Friday", "in the spring", "later today", "next month",
        "after the meeting", "this weekend",
    ),
    "place": (
        "the park", "the library", "the station", "the harbor", "a small cafe", "the museum",
        "the beach", "the garden", "the office", "the market", "the zoo", "the gym", "the airport",
        "the village square", "the bakery", "the hospital", "the bridge", "the farm", "the theater",
    ),
    "activity": (
        "walk the dog", "read the news", "fix the bike", "bake fresh bread", "paint the fence",
        "watch the birds", "play the violin", "measure the room", "choose a gift", "join the choir",
        "wash the dishes", "climb the hill", "buy some cheese", "visit the zoo", "plant tomatoes",
        "sort the mail", "catch the early train", "enjoy the sunshine", "write a thank-you note",
    ),
    "object": (
        "the blue umbrella", "a leather wallet", "the heavy box", "an old photograph", "the wooden chair",
        "a silver watch", "the yellow envelope", "a cup of hot cocoa", "the broken lamp", "a thick novel",
        "the garage key", "a pair of boots", "the toy boat", "a jar of honey", "the treasure map",
    ),
    "adj": (
        "beautiful", "too expensive", "surprisingly light", "a bit strange", "very useful",
        "quite noisy", "perfectly smooth", "rather boring", "unusually quiet", "absolutely huge",
    ),
    "weather": ("rain", "snow", "get windy", "clear up", "get foggy", "turn cold", "thunder", "hail"),
    "food": ("soup", "noodles", "fish", "apples", "rice", "pizza", "oatmeal", "cheese", "dumplings", "pears"),
    "city": ("Boston", "Chicago", "London", "Sydney", "Toronto", "Dublin", "Seattle", "Denver", "Paris"),
}  # fmt: skip

STATEMENTS: tuple[str, ...] = (
    "{person} went to {place} {past}.",
    "{person} will try to {activity} {future}.",
    "{person} needed to {activity} before going to {place}.",
    "I think {object} is {adj}.",
    "{person} left {object} at {place}.",
    "We agreed to meet at {place} {future}.",
    "If it does not {weather}, we will {activity} {future}.",
    "{someone_c} gave me {object}, which was very kind.",
    "Although {object} was {adj}, {person_l} bought it anyway.",
    "The weather report says it will {weather} in {city} {future}.",
    "{person} would rather eat {food} than {food2}.",
    "After arriving in {city}, {person_l} went straight to {place}.",
    "Nobody knew why {object} was lying near {place}.",
    "{person} hummed a tune while trying to {activity}.",
    "The shop near {place} sells {food} and {food2}.",
)  # fmt: skip

QUESTIONS: tuple[str, ...] = (
    "Are you going to {place} {future}?",
    "Why does {someone} want to {activity}?",
    "How much does {object} cost?",
    "What do you think of {object}?",
    "Is {place} far from here?",
    "Shall we {activity} together {future}?",
    "Has {someone} arrived in {city} yet?",
    "Could you tell me the way to {place}?",
    "Do you prefer {food} or {food2}?",
    "Will it {weather} in {city} {future}?",
    "Who took {object}?",
)  # fmt: skip

NUMBERS: tuple[str, ...] = (
    "The meeting starts at {hour}:{minute} on {month_name} {day}, {year}.",
    "This jacket costs ${dollars}.{cents} after the discount.",
    "The temperature reached {temp} degrees, {small} degrees warmer than yesterday.",
    "Sales grew by {pct}% this year.",
    "She ran {dist} kilometers yesterday.",
    "The train to {city} leaves at {hour}:{minute}.",
    "There are {count} students in the class, and {small} of them are new.",
    "The book has {pages} pages, and I have read about half.",
    "Please call me at extension {count} if anything changes.",
    "He was born in {year} and moved to {city} in {year2}.",
    "Our apartment is on the {ordinal} floor.",
    "The room is about {area} square meters.",
)  # fmt: skip

# Homographs in both readings, and sentences rich in rarer phones (ZH, OY, TH, NG, CH, JH).
HOMOGRAPHS: tuple[str, ...] = (
    "Please read the book that I read last summer.",
    "The wind was too strong for him to wind the old clock.",
    "She shed a tear when she saw the tear in her coat.",
    "They record a new record every single year.",
    "He will present the present at the party tonight.",
    "Lead pipes can lead to serious health problems.",
    "Live music makes the people who live here happy.",
    "Please close the door when you are close to it.",
    "I object to moving that heavy object again.",
    "The nurse wound the bandage around the wound.",
    "The dove dove into the bushes when the cat appeared.",
    "They refuse to collect the refuse on holidays.",
    "We need to polish the Polish furniture before the guests arrive.",
    "The bass player caught a large bass in the lake.",
    "After the desert storm, the soldier did not desert his post.",
    "Measure the pleasure of leisure with usual vision.",
    "The boy enjoyed the noisy toy with joy.",
    "Both of them think that this thing is worth three thousand.",
    "Judge the large cherry orchard with gentle judgment.",
    "The young king was singing a long song in the evening.",
    "Beige garages are a usual sight in the Asian village.",
    "Thirty thin thieves thought they had thrown the throne.",
    "Choose cheap cheese and fresh juice for the journey.",
    "Her azure treasure was hidden beneath the beige rug.",
)  # fmt: skip

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
