"""Text → emotion: the offline default backend, lexicon cues, the LLM answer parser, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from voxsmith.cli.main import main
from voxsmith.embeddings import EMOTIONS, parse_emotion_vector
from voxsmith.emotion_text import (
    DefaultBackend,
    EmotionWeights,
    LLMBackend,
    default_backend,
    parse_llm_output,
)
from voxsmith.emotion_text.cues import cue_vector
from voxsmith.emotion_text.dataset import HEAD_FILE, HELDOUT_TSV, TRAIN_TSV, file_sha256, load_examples
from voxsmith.emotion_text.evaluate import evaluate
from voxsmith.emotion_text.head import HeadConfig, SoftmaxHead
from voxsmith.emotion_text.train import TrainConfig, train_head
from voxsmith.errors import CheckpointError, DataError, TextError

# Clear cases, one instruction and one piece of content per category and language; written for
# this test (not in train.tsv or heldout.tsv), plus the examples named in the issue.
CLEAR_CASES = [
    ("用非常开心的语气读这句话", "happy"),
    ("我们班拿了第一名，太开心了！", "happy"),
    ("say it in a really happy, cheerful way", "happy"),
    ("I just got accepted to my dream school!", "happy"),
    ("用特别生气的语气说", "angry"),
    ("你又偷看我的日记，给我出去！", "angry"),
    ("say it furiously", "angry"),
    ("How dare you take my money without asking!", "angry"),
    ("用悲伤的语气说", "sad"),
    ("爸爸走了，我再也听不到他的声音了。", "sad"),
    ("read it in a very sad voice", "sad"),
    ("My little brother died in the hospital last night.", "sad"),
    ("用很害怕的声音说", "afraid"),
    ("有人在撬我家的门锁，我该怎么办？", "afraid"),
    ("say it in a terrified whisper", "afraid"),
    ("Someone is standing at the end of my bed in the dark.", "afraid"),
    ("用很恶心、很嫌弃的语气说", "disgusted"),
    ("盘子里的剩菜长满了霉，还爬着虫子。", "disgusted"),
    ("say it with utter disgust", "disgusted"),
    ("Ugh, the trash can is full of rotten, stinking fish.", "disgusted"),
    ("用情绪低落的语气说", "melancholic"),
    ("日子一天天地过，心里总是空空的，提不起精神。", "melancholic"),
    ("say it in a gloomy, melancholic voice", "melancholic"),
    ("Nothing seems worth doing anymore, every day is just grey.", "melancholic"),
    ("用非常惊讶的语气说", "surprised"),
    ("什么？你竟然一个人爬上了珠峰？", "surprised"),
    ("say it with great surprise", "surprised"),
    ("Wait, you're telling me she's your mother? No way!", "surprised"),
    ("语气平静一点", "calm"),
    ("温柔地说", "calm"),
    ("say it calmly and gently", "calm"),
    ("The office is on the fourth floor, next to the elevator.", "calm"),
    ("愤怒地质问", "angry"),
    ("say it angrily", "angry"),
    ("我中奖了！", "happy"),
    ("I can't believe you lied to me", "angry"),
]


@pytest.fixture(scope="module")
def backend() -> DefaultBackend:
    return default_backend()


@pytest.mark.parametrize(("text", "label"), CLEAR_CASES)
def test_clear_cases_get_their_category(backend, text, label):
    result = backend(text)
    assert result.label == label, (text, result.to_json())
    assert EMOTIONS[int(np.argmax(result.weights))] == label


@pytest.mark.parametrize(
    ("text", "not_label", "label"),
    [
        ("不要生气", "angry", "calm"),
        ("别害怕，慢慢说", "afraid", "calm"),
        ("不要生气，平和一点说", "angry", "calm"),
        ("don't be angry", "angry", "calm"),
        ("don't sound so sad", "sad", "calm"),
        ("stop being scared, say it normally", "afraid", "calm"),
    ],
)
def test_imperative_negation_means_calm(backend, text, not_label, label):
    result = backend(text)
    assert result.label == label, (text, result.to_json())
    assert result.weights[EMOTIONS.index(not_label)] == 0.0


def test_negation_flips_the_same_word(backend):
    angry = backend("生气地说")
    calm = backend("不要生气地说")
    assert angry.label == "angry" and calm.label == "calm"
    assert backend("I'm not happy at all").label in ("sad", "melancholic")
    assert backend("我一点都不开心").label in ("sad", "melancholic")
    # 特别 (especially) and 忍不住 (cannot help) hold a negator character but negate nothing
    assert backend("特别开心地说").label == "happy"
    assert backend("她忍不住哭了出来").label == "sad"


def test_cue_vector_reads_negation_kinds():
    v, hits = cue_vector("不要生气")
    assert v[EMOTIONS.index("angry")] < 0 < v[EMOTIONS.index("calm")]
    assert [h.negation for h in hits] == ["imperative"]
    v, hits = cue_vector("I'm not angry")
    assert v[EMOTIONS.index("angry")] < 0 and v[EMOTIONS.index("calm")] == 0
    assert [h.negation for h in hits] == ["declarative"]
    _, hits = cue_vector("don't be angry, say it sadly")  # the comma ends the negation's scope
    assert [h.negation for h in hits] == ["imperative", ""]
    assert cue_vector("听音乐")[1] == []  # 音乐 (music) is not 乐 (joy)


def test_weights_shape_sum_and_types(backend):
    for text in ("用悲伤的语气说", "又惊又喜地说", "The bus leaves at noon.", "I'm scared and a bit sad"):
        r = backend(text)
        assert isinstance(r, EmotionWeights)
        assert r.weights.shape == (8,) and r.weights.dtype == np.float32
        assert (r.weights >= 0).all() and abs(float(r.weights.sum()) - 1.0) < 1e-5
        assert r.scores.shape == (8,) and abs(float(r.scores.sum()) - 1.0) < 1e-4
        assert r.label == EMOTIONS[int(np.argmax(r.scores))]
        # what the pipeline does with it
        assert torch.equal(parse_emotion_vector(torch.as_tensor(r.weights)), torch.as_tensor(r.weights))
    mix = backend("又惊又喜地说")
    assert mix.weights[EMOTIONS.index("happy")] > 0 and mix.weights[EMOTIONS.index("surprised")] > 0
    assert set(mix.to_json()["weights"]) == set(EMOTIONS)


def test_deterministic_and_cached(backend):
    assert default_backend() is backend
    a = backend("我中奖了！")
    b = backend("我中奖了！")
    c = DefaultBackend()("我中奖了！")
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.weights, c.weights)
    assert np.array_equal(a.scores, c.scores)
    assert np.array_equal(backend("  我中奖了！\n").weights, b.weights)  # whitespace is not content


@pytest.mark.parametrize("bad", ["", "   \n\t", "!!!???", "12345", "……", "好" * 1001, None, 42])
def test_bad_text_is_a_text_error(backend, bad):
    with pytest.raises(TextError):
        backend(bad)


def test_head_file_problems_are_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        DefaultBackend(tmp_path / "missing.safetensors")
    head = SoftmaxHead.load(HEAD_FILE)
    head.config.embedder = "some-other-embedding"
    head.save(tmp_path / "other.safetensors")
    with pytest.raises(CheckpointError, match="some-other-embedding"):
        DefaultBackend(tmp_path / "other.safetensors")


def test_cli_json_prints_the_eight_named_weights(capsys):
    assert main(["emotion", "--json", "用悲伤的语气说"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == list(EMOTIONS)
    assert max(out, key=out.get) == "sad"
    assert abs(sum(out.values()) - 1.0) < 1e-3


def test_cli_plain_output_and_errors(capsys):
    assert main(["emotion", "say it angrily"]) == 0
    out = capsys.readouterr().out
    assert "label: angry" in out and out.count("\n") == 9
    assert main(["emotion", "!!!"]) == 2
    assert "no words" in capsys.readouterr().err
    assert main(["emotion", "hi", "--backend", "llm"]) == 2
    assert "--model-dir" in capsys.readouterr().err


def test_heldout_accuracy_reaches_target(backend):
    held = load_examples(HELDOUT_TSV)
    train_texts = {e.text for e in load_examples(TRAIN_TSV)}
    assert len(held) >= 80 and not train_texts & {e.text for e in held}
    counts = {label: sum(e.label == label for e in held) for label in EMOTIONS}
    assert len(set(counts.values())) == 1, counts  # balanced over the 8 categories
    assert {e.lang for e in held} == {"zh", "en"} and {e.kind for e in held} == {"instruction", "content"}
    report = evaluate(backend, held)
    assert report.accuracy >= 0.85, report.errors
    assert min(report.by_lang.values()) >= 0.8, report.by_lang


def test_shipped_head_matches_shipped_training_data():
    cfg = SoftmaxHead.load(HEAD_FILE).config
    assert cfg.train_sha256 == file_sha256(TRAIN_TSV), (
        "train.tsv changed: run python -m voxsmith.emotion_text.train"
    )
    assert cfg.n_train == len(load_examples(TRAIN_TSV)) and cfg.cv_accuracy >= 0.85


def test_training_is_deterministic(backend):
    examples = load_examples(TRAIN_TSV)[::16]  # 40 examples, every category
    cfg = TrainConfig(folds=2, l2_grid=(10.0,), cue_scales=(0.0, 2.0))
    base = HeadConfig(embedder=backend.embedder.name)
    h1, r1 = train_head(examples, backend.embedder, base, cfg)
    h2, r2 = train_head(examples, backend.embedder, base, cfg)
    assert np.array_equal(h1.W, h2.W) and np.array_equal(h1.b, h2.b) and r1 == r2
    assert np.abs(h1.W).sum() > 0


def test_bad_training_file_is_a_data_error(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("好开心\thappyish\tzh\tcontent\n", encoding="utf-8")
    with pytest.raises(DataError, match="bad.tsv:1"):
        load_examples(bad)


# ---- LLM backend: the answer parser, with a fake generate function -------------------------------


def _fake(answer: str) -> LLMBackend:
    return LLMBackend(None, generate=lambda text: answer)


def test_llm_json_answer_maps_chinese_keys_in_order():
    answer = '{"高兴": 0.0, "愤怒": 0.8, "悲伤": 0.0, "恐惧": 0.0, "反感": 0.2, "低落": 0.0, "惊讶": 0.0, "自然": 0.0}'
    r = _fake(answer)("你怎么又迟到了")
    assert r.label == "angry" and r.backend == "llm"
    np.testing.assert_allclose(r.weights, [0, 0.8, 0, 0, 0.2, 0, 0, 0], atol=1e-6)


def test_llm_answer_rules():
    # thinking dropped; scores clamped to 1.2 and scaled to sum <= 1
    scores, found = parse_llm_output('<think>hmm {"高兴": 9}</think>{"高兴": 1.5, "惊讶": 0.6}', "哇")
    assert found and scores[0] == pytest.approx(1.2) and scores[6] == pytest.approx(0.6)
    r = _fake('{"高兴": 1.5, "惊讶": 0.6}')("哇")
    assert abs(float(r.weights.sum()) - 1.0) < 1e-6 and r.weights[0] == pytest.approx(1.2 / 1.8)
    # intensities below 1 are kept as they are
    assert _fake('{"悲伤": 0.3}')("唉").weights.sum() == pytest.approx(0.3)
    # not JSON: key: value pairs (also full-width colons), English keys accepted
    scores, _ = parse_llm_output("高兴：0.7，惊讶: 0.2, angry: 0.1", "x")
    np.testing.assert_allclose(scores, [0.7, 0.1, 0, 0, 0, 0, 0.2, 0], atol=1e-6)
    # the official sad/melancholic swap when the text names melancholy
    scores, _ = parse_llm_output('{"悲伤": 0.9, "低落": 0.1}', "用低落的语气说")
    assert scores[EMOTIONS.index("melancholic")] == pytest.approx(0.9)
    assert scores[EMOTIONS.index("sad")] == pytest.approx(0.1)
    # nothing usable: calm, flagged
    r = _fake("I cannot answer that")("hello")
    assert r.label == "calm" and r.cues == ("unparsed",) and r.weights[7] == 1.0
    with pytest.raises(TextError):
        _fake("{}")("")


def test_llm_missing_model_dir_is_a_checkpoint_error(tmp_path, capsys):
    with pytest.raises(CheckpointError, match="not found"):
        LLMBackend(tmp_path / "qwen0.6bemo4-merge")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="config.json"):
        LLMBackend(tmp_path / "empty")
    assert main(["emotion", "hi", "--backend", "llm", "--model-dir", str(tmp_path / "nope")]) == 2
    assert "not found" in capsys.readouterr().err


def test_llm_backend_runs_a_local_transformers_dir(tmp_path):
    """A tiny random Qwen3 with a character tokenizer: loading, chat template and generate work end to end."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    chars = sorted(set('{}":,.0123456789 高兴愤怒悲伤恐惧反感低落惊讶自然文本情感分类sayitdlnrm'))
    vocab = {c: i for i, c in enumerate(["<unk>", "<|endoftext|>", *chars])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tok.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<|endoftext|>")
    fast.chat_template = (
        "{% for m in messages %}{{ m['role'] }}:{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}"
    )
    cfg = Qwen3Config(
        vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, head_dim=8, max_position_embeddings=256, eos_token_id=1, pad_token_id=1,
        use_sliding_window=False,
    )  # fmt: skip
    torch.manual_seed(0)
    Qwen3ForCausalLM(cfg).save_pretrained(tmp_path)
    fast.save_pretrained(tmp_path)
    llm = LLMBackend(tmp_path)
    r1, r2 = llm("say it sadly"), llm("say it sadly")
    assert r1.weights.shape == (8,) and (r1.weights >= 0).all() and r1.weights.sum() <= 1.0 + 1e-6
    assert np.array_equal(r1.weights, r2.weights)  # greedy decoding
    assert isinstance(llm.generate("say it sadly"), str)
