#!/usr/bin/env python3
"""Writes configs/corpus/tinystories-corpus.txt: short children's stories in TinyStories style, composed
from templates written for nanscope (original text, no TinyStories data), for the key second moment
C = E[k k^T] of the embedded model. Deterministic: fixed seed, stdlib `random` only.

Output: one story per paragraph, stories separated by one blank line.
Usage: python3 scripts/editing/make_tinystories_corpus.py [N_STORIES [OUT]]   (default 300, the
bundled file; the first N stories of a longer run are the N of a shorter one)
"""
import random
import sys
from pathlib import Path

SEED = 20261128
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "configs/corpus/tinystories-corpus.txt"

GIRLS = ["Lily", "Sue", "Mia", "Amy", "Lucy", "Sara", "Emma", "Kim"]
BOYS = ["Tom", "Tim", "Timmy", "Ben", "Max", "Sam", "Jack", "Bob"]
ANIMALS = ["cat", "dog", "bird", "frog", "bunny", "duck", "fish", "bear"]
TOYS = ["ball", "doll", "car", "kite", "truck", "teddy bear", "boat", "drum"]
PLACES = ["park", "garden", "beach", "forest", "lake", "farm", "zoo", "yard"]
COLORS = ["red", "blue", "green", "yellow", "pink", "big", "little", "shiny"]
FOODS = ["cake", "apple", "cookie", "soup", "pie", "sandwich", "banana", "milk"]
FEELINGS = ["happy", "sad", "scared", "excited", "tired", "proud", "angry", "surprised"]
ACTIONS = ["play", "run", "jump", "sing", "dance", "swim", "draw", "read"]
THINGS = ["tree", "rock", "flower", "box", "hole", "house", "bench", "hill"]
WEATHER = ["sunny", "rainy", "windy", "cold", "warm", "snowy"]
FAMILY = ["mom", "dad", "grandma", "grandpa", "sister", "brother"]

OPENINGS = [
    "Once upon a time, there was a {adj} {kind} named {name}.",
    "One day, {name} went to the {place} with {his} {family}.",
    "Once upon a time, in a small town, there lived a {kid} named {name}.",
    "It was a {weather} day. {name} wanted to go outside.",
    "{name} was a {kid} who loved to {action}.",
]
MIDDLES = [
    "{He} saw a {color} {animal} near the {thing}.",
    "{He} found a {color} {toy} under the {thing}.",
    "{Name} and {friend} liked to {action} together.",
    "{He} wanted to share {his} {food} with {friend}.",
    "The {animal} was {feeling} because it could not find its {toy}.",
    "{He} asked {his} {family}, \"Can I {action} at the {place}?\"",
    "{His} {family} said, \"Yes, but be careful.\"",
    "{He} ran to the {place} as fast as {he} could.",
    "{Friend} said, \"Look! A {color} {toy}!\"",
    "{He} felt {feeling} when {he} saw the {animal}.",
    "They played with the {toy} all day long.",
    "The sun was shining and the {animal} was happy.",
    "{He} gave the {food} to the {animal}.",
    "Suddenly, the {toy} fell into the {thing}.",
    "{He} tried to get it, but it was too high.",
    "{Friend} came to help {him}.",
]
ENDINGS = [
    "In the end, {name} and {friend} were very happy.",
    "From that day on, {name} always shared {his} {toy}.",
    "{Name} said thank you and gave {friend} a big hug.",
    "They went home and ate {food} with {his} {family}.",
    "{Name} learned that it is good to help friends.",
    "The {animal} and {name} became best friends.",
    "That night, {name} went to bed with a smile.",
]


def pronouns(is_girl):
    return dict(he="she", He="She", his="her", His="Her", him="her", kid="girl") if is_girl else dict(
        he="he", He="He", his="his", His="His", him="him", kid="boy")


def story(rng):
    is_girl = rng.random() < 0.5
    name = rng.choice(GIRLS if is_girl else BOYS)
    friend = rng.choice([n for n in GIRLS + BOYS if n != name])
    v = dict(
        name=name, Name=name, friend=friend, Friend=friend,
        adj=rng.choice(COLORS[5:7] + ["kind", "happy", "curious"]),
        animal=rng.choice(ANIMALS), toy=rng.choice(TOYS), place=rng.choice(PLACES),
        color=rng.choice(COLORS), food=rng.choice(FOODS), feeling=rng.choice(FEELINGS),
        action=rng.choice(ACTIONS), thing=rng.choice(THINGS), weather=rng.choice(WEATHER),
        family=rng.choice(FAMILY),
        **pronouns(is_girl),
    )
    v["kind"] = v["kid"]  # the opening "a {adj} {kind} named" needs girl/boy
    sentences = [rng.choice(OPENINGS)]
    sentences += rng.sample(MIDDLES, rng.randint(2, 5))
    sentences.append(rng.choice(ENDINGS))
    return " ".join(s.format(**v) for s in sentences)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rng = random.Random(SEED)
    out = Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else OUT
    stories = [story(rng) for _ in range(n)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n\n".join(stories) + "\n", encoding="utf-8")
    print(f"wrote {n} stories, {sum(len(s.split()) for s in stories)} words to {out}")


if __name__ == "__main__":
    main()
