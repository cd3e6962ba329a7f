#!/usr/bin/env python3
"""Convert a faster-whisper (CTranslate2) Whisper model to a whisper.cpp ggml file.

Usage: ct2_to_ggml.py [--published] MODEL_DIR OUTPUT.bin

MODEL_DIR holds `vocabulary.txt` and either `model.bin` or its pieces
`model.bin.part1`, `model.bin.part2`, ... (joined in order).  Only numpy is
needed.  Progress goes to stderr.

The default output is the project's reference conversion (the sha256 pins in
scripts/fetch-model): the BPE tokens before <|endoftext|>; the mel filters
computed in float64 and rounded once to float32 (so [0, 0] is -0.0); the
tensors in whisper.cpp's loading order: encoder positional embedding, conv1,
conv2, ln_post, then each encoder block (attn_ln, attn, mlp_ln, mlp), then
decoder positional embedding, token embedding, ln, then each decoder block
(attn_ln, attn, cross_attn_ln, cross_attn, mlp_ln, mlp).

With --published the output is what whisper.cpp's models/convert-pt-to-ggml.py
writes for the same OpenAI checkpoint, byte-identical to the ggml-*.bin files
whisper.cpp publishes: librosa's float32 mel filters (whisper's
mel_filters.npz), the tensors in the OpenAI checkpoint's order, and for
English-only models also the <|endoftext|> token (those files were made from
an older vocab.json).  Header, tokens, tensor names, shapes, dtypes and sizes
are otherwise the same in both layouts.
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
# Mel filterbank: Slaney-style, as librosa.filters.mel(sr=16000, n_fft=400,
# n_mels=N) (htk=False, norm="slaney") computes it
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


def mel_filters(n_mels, sr=SAMPLE_RATE, n_fft=N_FFT, published=False):
    """Triangular Slaney filters, shape (n_mels, n_fft // 2 + 1), float32.

    Default: computed and normalized in float64, rounded to float32 once; a
    zero keeps the sign it was computed with (-0.0 at [0, 0], where the
    rising edge is -0.0 / width).  published=True: exactly librosa's float32
    result, i.e. whisper's mel_filters.npz: the triangles are rounded to
    float32 before the float64 normalization rounds them again, and every
    zero is +0.0.
    """
    fft_freqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_range = hz_to_mel([0.0, sr / 2.0])
    edges = mel_to_hz(np.linspace(mel_range[0], mel_range[1], n_mels + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, fft_freqs)
    lower = -ramps[:n_mels] / widths[:n_mels, np.newaxis]
    upper = ramps[2:] / widths[1:, np.newaxis]
    triangles = np.minimum(lower, upper)
    # max(0, x), spelled out so that a zero keeps its sign whatever numpy's
    # maximum() does with signed zeros.
    weights = np.where(triangles < 0, 0.0, triangles)
    norms = (2.0 / (edges[2:n_mels + 2] - edges[:n_mels]))[:, np.newaxis]
    if not published:
        return (weights * norms).astype(np.float32)
    weights = weights.astype(np.float32)
    weights *= norms
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
# Tensors: CTranslate2 names -> OpenAI names, fused attention split; in
# whisper.cpp's loading order, or (published) in the order of OpenAI's
# checkpoint state_dict, which whisper.cpp's converter keeps
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


def block(v, src, dst, cross, published):
    """One residual block.

    Default: in forward order, self-attention, cross-attention, then mlp.
    published: mlp, self-attention, then cross-attention.
    """
    def mlp():
        yield from layer_norm(v, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
        yield from linear(v, f"{src}/ffn/linear_0", f"{dst}.mlp.0")
        yield from linear(v, f"{src}/ffn/linear_1", f"{dst}.mlp.2")

    if published:
        yield from mlp()
    yield from layer_norm(v, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
    yield from attention(v, f"{src}/self_attention", f"{dst}.attn", fused_qkv=True)
    if cross:
        yield from layer_norm(v, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
        yield from attention(v, f"{src}/attention", f"{dst}.cross_attn", fused_qkv=False)
    if not published:
        yield from mlp()


def ggml_tensors(v, hp, published=False):
    """(name, array) pairs in file order (see the module docstring)."""
    def encoder_blocks():
        for i in range(hp["n_audio_layer"]):
            yield from block(v, f"encoder/layer_{i}", f"encoder.blocks.{i}", False, published)

    def decoder_blocks():
        for i in range(hp["n_text_layer"]):
            yield from block(v, f"decoder/layer_{i}", f"decoder.blocks.{i}", True, published)

    if published:
        yield "decoder.positional_embedding", v["decoder/position_encodings/encodings"]
        yield "encoder.positional_embedding", v["encoder/position_encodings/encodings"]
        yield "decoder.token_embedding.weight", v["decoder/embeddings/weight"]
        yield from decoder_blocks()
        yield from layer_norm(v, "decoder/layer_norm", "decoder.ln")
        yield from linear(v, "encoder/conv1", "encoder.conv1")
        yield from linear(v, "encoder/conv2", "encoder.conv2")
        yield from encoder_blocks()
        yield from layer_norm(v, "encoder/layer_norm", "encoder.ln_post")
        return
    yield "encoder.positional_embedding", v["encoder/position_encodings/encodings"]
    yield from linear(v, "encoder/conv1", "encoder.conv1")
    yield from linear(v, "encoder/conv2", "encoder.conv2")
    yield from layer_norm(v, "encoder/layer_norm", "encoder.ln_post")
    yield from encoder_blocks()
    yield "decoder.positional_embedding", v["decoder/position_encodings/encodings"]
    yield "decoder.token_embedding.weight", v["decoder/embeddings/weight"]
    yield from layer_norm(v, "decoder/layer_norm", "decoder.ln")
    yield from decoder_blocks()


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


def write_ggml(out_path, hp, filters, tokens, tensors):
    tmp_path = out_path.with_name(out_path.name + ".tmp")
    count = 0
    try:
        with open(tmp_path, "wb") as out:
            write_header(out, hp, filters, tokens)
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
    filters = mel_filters(hp["n_mels"], published=published)
    count = write_ggml(out_path, hp, filters, tokens,
                       ggml_tensors(variables, hp, published))
    log(f"wrote {count} tensors, {out_path.stat().st_size} bytes to {out_path} "
        f"in {time.monotonic() - started:.1f}s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir", type=Path,
                        help="directory with model.bin (or model.bin.partN) and vocabulary.txt")
    parser.add_argument("output", type=Path, help="ggml file to write")
    parser.add_argument("--published", action="store_true",
                        help="write whisper.cpp's published layout instead (librosa mel "
                             "filters, OpenAI checkpoint tensor order, <|endoftext|> for "
                             "English-only models): byte-identical to its ggml-*.bin files")
    args = parser.parse_args(argv)
    try:
        convert(args.model_dir, args.output, args.published)
    except (OSError, ValueError, KeyError) as err:
        log(f"error: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
