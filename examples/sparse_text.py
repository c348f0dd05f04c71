"""Text classification on sparse TF-IDF features
=============================================

Text classification: TF-IDF features (a sparse matrix) into MLPClassifier.

fastmlp trains on scipy.sparse input directly, without densifying it. The
corpus is generated here from a few sentence templates and topic word lists,
so the example needs no download.
"""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier

TOPICS = {
    "sports": {
        "noun": ["team", "coach", "goal", "match", "league", "striker", "season"],
        "verb": ["scored", "defended", "won", "lost", "trained for", "celebrated"],
        "adjective": ["late", "decisive", "home", "away", "final", "tense"],
    },
    "cooking": {
        "noun": ["sauce", "oven", "recipe", "garlic", "dough", "chef", "pan"],
        "verb": ["baked", "stirred", "seasoned", "roasted", "tasted", "chopped"],
        "adjective": ["crispy", "spicy", "fresh", "golden", "savory", "sweet"],
    },
    "computing": {
        "noun": ["compiler", "server", "kernel", "thread", "cache", "database"],
        "verb": ["crashed", "compiled", "deployed", "profiled", "patched", "cached"],
        "adjective": ["parallel", "remote", "stale", "fast", "buggy", "idle"],
    },
}
SHARED = ["the", "a", "today", "again", "really", "quite", "new", "old", "big"]
TEMPLATES = [
    "the {adjective} {noun} {verb} the {noun2}",
    "{shared} the {noun} {verb} a {adjective} {noun2}",
    "a {adjective} {noun} was {verb} {shared}",
    "why the {noun} {verb} the {adjective} {noun2} {shared}",
]


def make_corpus(n_documents, rng):
    """Documents from one topic's templates, with shared filler words and words
    borrowed from other topics, so that the task is not trivial."""
    names = list(TOPICS)
    documents, labels = [], []
    for _ in range(n_documents):
        topic = names[rng.integers(len(names))]
        words = TOPICS[topic]
        for part in ("noun", "verb", "adjective"):  # borrow from other topics
            if rng.random() < 0.4:
                other = names[rng.integers(len(names))]
                words = dict(words, **{part: TOPICS[other][part]})
        sentence = rng.choice(TEMPLATES).format(
            adjective=rng.choice(words["adjective"]),
            noun=rng.choice(words["noun"]),
            noun2=rng.choice(TOPICS[topic]["noun"]),
            verb=rng.choice(words["verb"]),
            shared=rng.choice(SHARED),
        )
        documents.append(sentence)
        labels.append(topic)
    return documents, np.array(labels)


rng = np.random.default_rng(0)
documents, labels = make_corpus(1500, rng)
docs_train, docs_test, y_train, y_test = train_test_split(
    documents, labels, test_size=0.3, stratify=labels, random_state=0
)

vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
X_train = vectorizer.fit_transform(docs_train)  # scipy.sparse CSR
X_test = vectorizer.transform(docs_test)
print(
    f"TF-IDF: {X_train.shape[0]} documents x {X_train.shape[1]} terms, "
    f"{X_train.nnz / np.prod(X_train.shape):.2%} nonzero ({type(X_train).__name__})"
)

model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0)
model.fit(X_train, y_train)
print(f"test accuracy: {model.score(X_test, y_test):.4f}")

new = [
    "the striker scored a late goal",
    "stir the garlic into the sauce",
    "the server crashed after the kernel patch",
]
for sentence, topic in zip(new, model.predict(vectorizer.transform(new))):
    print(f"  {topic:>9}: {sentence}")
