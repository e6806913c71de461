"""A model registry in the style of large vision model zoos."""
_model_entrypoints = {}


def register_model(fn):
    _model_entrypoints[fn.__name__] = fn
    return fn


def list_models():
    return sorted(_model_entrypoints)


def create_model(name, **kwargs):
    return _model_entrypoints[name](**kwargs)
