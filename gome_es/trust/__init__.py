"""What gome trusts outside the sandbox, and how it checks what it did not make.

One home for the checks that stand between gome's own commands and folders, files and text that
another user, a solution, an LLM, an import or a config file could have made: private folders and
the marker of gome's workspaces (:mod:`.folders`), the sanitizer for untrusted text on its way to a
terminal (:mod:`.text`), bounded reads of untrusted files (:mod:`.limits`) and signed runs
(:mod:`.signing`).
"""
