"""The synthetic training corpus: speech engines, WORLD transforms, speakers, styles, texts, builder.

``voxsmith corpus build`` (corpus.py) renders clips of engine voices turned into many speakers
(speakers.py, timbre.py) reading generated sentences (texts.py) in emotion styles (styles.py),
all through the WORLD vocoder (world.py). Importing this package loads nothing heavy.
"""
