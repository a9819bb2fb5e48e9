"""Independent judges: measures of generated speech that no voxsmith model is trained on.

- ``sim.SpeakerJudge``: speaker similarity (resemblyzer GE2E embeddings, cosine).
- ``asr.AsrJudge`` over an ``asr.AsrBackend`` (default ``whisper.WhisperBackend``,
  faster-whisper base from packaged parts): transcript, CER (zh) / WER (en) against the
  intended text, with the normalisation of ``scoring``.
- ``mos.MosJudge``: DNSMOS P.835 (sig, bak, ovrl) quality estimates.
- ``prosody.ProsodyJudge``: f0 (WORLD), energy, speaking rate, duration.
- ``report.evaluate_manifest``: all of them over a manifest (schema in ``manifest``),
  aggregated by ``summary``; ``html.write_html`` renders the report for people.

Importing this package loads no model and no judge package; each judge imports its
package when first used (``EngineError`` naming the package when it is missing) and
keeps its loaded model in the judge object.
"""
