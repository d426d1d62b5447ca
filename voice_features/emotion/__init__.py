"""Speech-emotion recognition (SER): a CRNN over log-mel spectrograms.

Library only (no Django): corpus layout parsers, augmentation, training, evaluation,
export (TorchScript, ONNX, dynamic INT8), a versioned model registry with one active
model, and inference. No model ships with Cadence: until a clinic trains and activates
one on a licensed corpus, :func:`voice_features.emotion.inference.analyse_emotion`
returns None and the emotion stage is off.
"""

#: The environment variable naming the model registry (read by inference and by the command line, which
#: must not load torch to read it).
REGISTRY_ENV = "CADENCE_EMOTION_REGISTRY"
