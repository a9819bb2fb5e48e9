"""Few-shot fine-tuning: a voice of its own from minutes of a speaker's recordings.

    config.py    FinetuneConfig: method (lora / ia3 / partial / full), adapter shape, schedule
    data.py      FinetuneData: a prepared dataset's clips with the model's own codes, glossary pinyin
    adapters.py  which tensors a method owns on the GPT and S2M, their names, peft merge
    tuning.py    Tuning (the method attached for training) and the GPT / S2M losses
    speaker.py   the stored voice: medoid speaker conditioning over the clips
    train.py     finetune(): the recipe (resumable, early stopping) → an adapter directory
    artifact.py  the adapter directory on disk (adapter_model.safetensors + adapter_config.json)
    runtime.py   adapters at inference: load, switch (merge in place), back to the base
    merge.py     merge_adapter(): base + adapter → a plain model directory

Nothing here is imported by ``import voxsmith``; the facade loads ``runtime`` on first use.
"""
