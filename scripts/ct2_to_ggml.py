#!/usr/bin/env python3
"""Convert a faster-whisper (CTranslate2) Whisper model to a whisper.cpp ggml file.

Usage: ct2_to_ggml.py [--published] MODEL_DIR OUTPUT.bin

MODEL_DIR holds `vocabulary.txt` and either `model.bin` or its pieces
`model.bin.part1`, `model.bin.part2`, ... (joined in order).  Only numpy is
needed.  The output is what whisper.cpp's models/convert-pt-to-ggml.py writes
for the same OpenAI checkpoint: same header, mel filters, tokens, tensor
order and dtypes.  With --published, English-only models also carry the
<|endoftext|> token, as the ggml-*.en.bin files whisper.cpp publishes do
(they were made from an older vocab.json); the result is then byte-identical
to those files.  Progress goes to stderr.
"""

import argparse
import re
import struct
import sys
import time
from pathlib import Path

import numpy as np

GGML_MAGIC = 0x67676D6C
EOT_TOKEN = "<|endoftext|>"
ENGLISH_VOCAB_SIZE = 51864
SAMPLE_RATE = 16000
N_FFT = 400
HEAD_DIM = 64

# CTranslate2 DataType ids (include/ctranslate2/types.h); bfloat16 is not handled.
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}

# Tensors the reference converter keeps in f32 although they are 2-D.
F32_NAMES = {
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
}


def log(msg):
    print(f"ct2_to_ggml: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# CTranslate2 model.bin reader (layout: src/models/model.cc, Model::load)
# --------------------------------------------------------------------------

class ByteReader:
    """Sequential little-endian reader over a bytes buffer."""

    def __init__(self, data):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError(f"model.bin truncated at offset {self.pos}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def u8(self):
        return self.unpack("B")[0]

    def u32(self):
        return self.unpack("I")[0]

    def string(self):
        """uint16 length (terminating NUL included), then the bytes."""
        length = self.unpack("H")[0]
        return bytes(self.take(length)).rstrip(b"\0").decode("utf-8")


def part_number(path):
    return int(re.sub(r"\D", "", path.suffix) or 0)


def read_model_bytes(model_dir):
    """model.bin, or the concatenation of model.bin.part1..N."""
    whole = model_dir / "model.bin"
    if whole.is_file():
        return whole.read_bytes()
    parts = sorted(model_dir.glob("model.bin.part*"), key=part_number)
    if not parts:
        raise FileNotFoundError(f"no model.bin or model.bin.part* in {model_dir}")
    log(f"joining {', '.join(p.name for p in parts)}")
    return b"".join(p.read_bytes() for p in parts)


def read_variable(reader):
    """One variable: name, rank, dims, dtype id, byte count, raw data."""
    name = reader.string()
    rank = reader.u8()
    shape = reader.unpack(f"{rank}I") if rank else ()
    dtype_id = reader.u8()
    num_bytes = reader.u32()
    if dtype_id not in CT2_DTYPES:
        raise ValueError(f"{name}: unsupported CTranslate2 dtype id {dtype_id}")
    array = np.frombuffer(reader.take(num_bytes), dtype=CT2_DTYPES[dtype_id])
    return name, array.reshape(shape)


def parse_ct2(data):
    """Return (spec name, revision, {variable name: ndarray}) with aliases resolved."""
    reader = ByteReader(data)
    version = reader.u32()
    if not 4 <= version <= 6:
        raise ValueError(f"unsupported CTranslate2 binary version {version}")
    spec = reader.string()
    revision = reader.u32()
    variables = dict(read_variable(reader) for _ in range(reader.u32()))
    for _ in range(reader.u32()):
        alias, target = reader.string(), reader.string()
        if target in variables:
            variables[alias] = variables[target]
    return spec, revision, variables


# --------------------------------------------------------------------------
# Hyperparameters, all derived from the tensors
# --------------------------------------------------------------------------

def count_layers(variables, prefix):
    pattern = re.compile(re.escape(prefix) + r"/layer_(\d+)/")
    found = {int(m.group(1)) for m in map(pattern.match, variables) if m}
    return max(found) + 1 if found else 0


def num_heads(variables, prefix, state):
    value = variables.get(f"{prefix}/num_heads")
    return int(value) if value is not None else state // HEAD_DIM


def hparams_from(variables):
    """The ggml header fields, in file order."""
    enc_ctx, enc_state = variables["encoder/position_encodings/encodings"].shape
    dec_ctx, dec_state = variables["decoder/position_encodings/encodings"].shape
    return {
        "n_vocab": variables["decoder/embeddings/weight"].shape[0],
        "n_audio_ctx": enc_ctx,
        "n_audio_state": enc_state,
        "n_audio_head": num_heads(variables, "encoder", enc_state),
        "n_audio_layer": count_layers(variables, "encoder"),
        "n_text_ctx": dec_ctx,
        "n_text_state": dec_state,
        "n_text_head": num_heads(variables, "decoder", dec_state),
        "n_text_layer": count_layers(variables, "decoder"),
        "n_mels": variables["encoder/conv1/weight"].shape[1],
        "ftype": 1,
    }


# --------------------------------------------------------------------------
# Mel filterbank: librosa.filters.mel(sr=16000, n_fft=400, n_mels=N)
# (htk=False, norm="slaney", float32), i.e. whisper's mel_filters.npz
# --------------------------------------------------------------------------

F_SP = 200.0 / 3
MIN_LOG_HZ = 1000.0
MIN_LOG_MEL = MIN_LOG_HZ / F_SP
LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(hz):
    hz = np.asarray(hz, dtype=np.float64)
    mels = hz / F_SP
    log_region = hz >= MIN_LOG_HZ
    mels[log_region] = MIN_LOG_MEL + np.log(hz[log_region] / MIN_LOG_HZ) / LOGSTEP
    return mels


def mel_to_hz(mels):
    mels = np.asarray(mels, dtype=np.float64)
    hz = F_SP * mels
    log_region = mels >= MIN_LOG_MEL
    hz[log_region] = MIN_LOG_HZ * np.exp(LOGSTEP * (mels[log_region] - MIN_LOG_MEL))
    return hz


def mel_filters(n_mels, sr=SAMPLE_RATE, n_fft=N_FFT):
    """Triangular Slaney filters, shape (n_mels, n_fft // 2 + 1), float32."""
    fft_freqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_range = hz_to_mel([0.0, sr / 2.0])
    edges = mel_to_hz(np.linspace(mel_range[0], mel_range[1], n_mels + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, fft_freqs)
    weights = np.zeros((n_mels, len(fft_freqs)), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / widths[i]
        upper = ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    # Like librosa: float32 weights scaled by float64 norms, rounded once more.
    weights *= (2.0 / (edges[2:n_mels + 2] - edges[:n_mels]))[:, np.newaxis]
    # Recent numpy's maximum() yields -0.0 at [0, 0]; mel_filters.npz has +0.0.
    weights[weights == 0] = 0.0
    return weights


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------

def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character table."""
    printable = (list(range(ord("!"), ord("~") + 1))
                 + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def token_bytes(vocab_path):
    """The BPE tokens before <|endoftext|>, as raw bytes, in id order.

    These are exactly the entries of whisper's tiktoken file that the
    reference converter writes: 50256 for the English-only models, 50257
    for the multilingual ones.
    """
    decoder = {c: b for b, c in bytes_to_unicode().items()}
    lines = vocab_path.read_text(encoding="utf-8").split("\n")
    if EOT_TOKEN not in lines:
        raise ValueError(f"{vocab_path}: no {EOT_TOKEN} token")
    return [bytes(decoder[c] for c in tok) for tok in lines[:lines.index(EOT_TOKEN)]]


# --------------------------------------------------------------------------
# Tensors: CTranslate2 names -> OpenAI names, fused attention split, in the
# order of OpenAI's checkpoint state_dict (which the reference converter keeps)
# --------------------------------------------------------------------------

def split_rows(array, parts):
    return np.split(array, parts, axis=0)


def check_key_bias(name, bias):
    """Whisper's key projection has no bias: CTranslate2 stores zeros there."""
    if np.any(bias != 0):
        raise ValueError(f"{name}: non-zero key bias cannot be stored in ggml")


def attention(v, src, dst, fused_qkv):
    """Yield query/key/value/out tensors of one attention block."""
    if fused_qkv:
        q_w, k_w, v_w = split_rows(v[f"{src}/linear_0/weight"], 3)
        q_b, k_b, v_b = split_rows(v[f"{src}/linear_0/bias"], 3)
        out = "linear_1"
    else:
        q_w, q_b = v[f"{src}/linear_0/weight"], v[f"{src}/linear_0/bias"]
        k_w, v_w = split_rows(v[f"{src}/linear_1/weight"], 2)
        k_b, v_b = split_rows(v[f"{src}/linear_1/bias"], 2)
        out = "linear_2"
    check_key_bias(src, k_b)
    yield f"{dst}.query.weight", q_w
    yield f"{dst}.query.bias", q_b
    yield f"{dst}.key.weight", k_w
    yield f"{dst}.value.weight", v_w
    yield f"{dst}.value.bias", v_b
    yield f"{dst}.out.weight", v[f"{src}/{out}/weight"]
    yield f"{dst}.out.bias", v[f"{src}/{out}/bias"]


def layer_norm(v, src, dst):
    yield f"{dst}.weight", v[f"{src}/gamma"]
    yield f"{dst}.bias", v[f"{src}/beta"]


def linear(v, src, dst):
    yield f"{dst}.weight", v[f"{src}/weight"]
    yield f"{dst}.bias", v[f"{src}/bias"]


def block(v, src, dst, cross):
    """One residual block: mlp, self-attention, then cross-attention."""
    yield from layer_norm(v, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
    yield from linear(v, f"{src}/ffn/linear_0", f"{dst}.mlp.0")
    yield from linear(v, f"{src}/ffn/linear_1", f"{dst}.mlp.2")
    yield from layer_norm(v, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
    yield from attention(v, f"{src}/self_attention", f"{dst}.attn", fused_qkv=True)
    if cross:
        yield from layer_norm(v, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
        yield from attention(v, f"{src}/attention", f"{dst}.cross_attn", fused_qkv=False)


def ggml_tensors(v, hp):
    """(name, array) pairs in the order of the published ggml files."""
    yield "decoder.positional_embedding", v["decoder/position_encodings/encodings"]
    yield "encoder.positional_embedding", v["encoder/position_encodings/encodings"]
    yield "decoder.token_embedding.weight", v["decoder/embeddings/weight"]
    for i in range(hp["n_text_layer"]):
        yield from block(v, f"decoder/layer_{i}", f"decoder.blocks.{i}", cross=True)
    yield from layer_norm(v, "decoder/layer_norm", "decoder.ln")
    yield from linear(v, "encoder/conv1", "encoder.conv1")
    yield from linear(v, "encoder/conv2", "encoder.conv2")
    for i in range(hp["n_audio_layer"]):
        yield from block(v, f"encoder/layer_{i}", f"encoder.blocks.{i}", cross=False)
    yield from layer_norm(v, "encoder/layer_norm", "encoder.ln_post")


# --------------------------------------------------------------------------
# ggml writer
# --------------------------------------------------------------------------

def pack_ints(*values):
    return struct.pack(f"<{len(values)}i", *values)


def prepare_tensor(name, array):
    """Apply the reference converter's shape and dtype rules; return (ftype, data)."""
    if array.dtype.kind != "f":
        raise ValueError(f"{name}: {array.dtype} weights (quantized model?) are not supported")
    data = np.squeeze(array)
    if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
        data = data.reshape(data.shape[0], 1)
    if data.ndim < 2 or name in F32_NAMES:
        return 0, np.ascontiguousarray(data, dtype="<f4")
    return 1, np.ascontiguousarray(data, dtype="<f2")


def write_tensor(out, name, array):
    """Header (n_dims, name length, ftype, dims reversed, name), then data."""
    ftype, data = prepare_tensor(name, array)
    encoded = name.encode("utf-8")
    out.write(pack_ints(data.ndim, len(encoded), ftype))
    out.write(pack_ints(*reversed(data.shape)))
    out.write(encoded)
    out.write(data.tobytes())


def write_header(out, hp, filters, tokens):
    out.write(pack_ints(GGML_MAGIC, *hp.values()))
    out.write(pack_ints(*filters.shape))
    out.write(filters.astype("<f4").tobytes())
    out.write(pack_ints(len(tokens)))
    for tok in tokens:
        out.write(pack_ints(len(tok)))
        out.write(tok)


def load_ct2(model_dir):
    spec, revision, variables = parse_ct2(read_model_bytes(model_dir))
    log(f"read {spec} revision {revision}: {len(variables)} variables")
    if spec != "WhisperSpec":
        raise ValueError(f"not a Whisper model: spec {spec}")
    return variables


def load_tokens(model_dir, hp, published):
    tokens = token_bytes(model_dir / "vocabulary.txt")
    if published and hp["n_vocab"] == ENGLISH_VOCAB_SIZE:
        tokens.append(EOT_TOKEN.encode())
    log(f"tokens: {len(tokens)}")
    return tokens


def write_ggml(out_path, hp, tokens, tensors):
    tmp_path = out_path.with_name(out_path.name + ".tmp")
    count = 0
    try:
        with open(tmp_path, "wb") as out:
            write_header(out, hp, mel_filters(hp["n_mels"]), tokens)
            for name, array in tensors:
                write_tensor(out, name, array)
                count += 1
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    tmp_path.replace(out_path)
    return count


def convert(model_dir, out_path, published=False):
    started = time.monotonic()
    variables = load_ct2(model_dir)
    hp = hparams_from(variables)
    log("hparams: " + ", ".join(f"{k}={v}" for k, v in hp.items()))
    tokens = load_tokens(model_dir, hp, published)
    count = write_ggml(out_path, hp, tokens, ggml_tensors(variables, hp))
    log(f"wrote {count} tensors, {out_path.stat().st_size} bytes to {out_path} "
        f"in {time.monotonic() - started:.1f}s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir", type=Path,
                        help="directory with model.bin (or model.bin.partN) and vocabulary.txt")
    parser.add_argument("output", type=Path, help="ggml file to write")
    parser.add_argument("--published", action="store_true",
                        help="English-only models: also write <|endoftext|>, like the "
                             "published ggml-*.en.bin files")
    args = parser.parse_args(argv)
    try:
        convert(args.model_dir, args.output, args.published)
    except (OSError, ValueError, KeyError) as err:
        log(f"error: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
