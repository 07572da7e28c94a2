"""Solution code the offline reasoner writes: recipes and the code generated from them.

``recipes`` owns the recipe space per task type and how a change edits a recipe;
``render`` turns a recipe plus a task into a runnable solution file;
``anydata`` and ``snippets`` hold its code blocks for any-shape competitions and for both kinds;
``moves`` owns the catalogue of changes the reasoner can propose from a recipe.
"""

from gome_es.solutions.recipes import (
    FAMILIES,
    TASK_TYPES,
    RecipeError,
    apply_change,
    default_recipe,
    describe,
    normalize,
)
from gome_es.solutions.render import canonical_metric, recipe_from_code, render

__all__ = [
    "FAMILIES",
    "TASK_TYPES",
    "RecipeError",
    "apply_change",
    "canonical_metric",
    "default_recipe",
    "describe",
    "normalize",
    "recipe_from_code",
    "render",
]
