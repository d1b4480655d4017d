"""Finding the object a URL names, or the API's 404."""

from identity.errors import NotFound


def existing(model, pk, what: str):
    """The `model` row of primary key `pk`; NotFound ("No such <what>.") when there is none."""
    row = model.objects.filter(pk=pk).first()
    if row is None:
        raise NotFound(f"No such {what}.")
    return row
