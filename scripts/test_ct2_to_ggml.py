"""Unit tests for ct2_to_ggml.py on small synthetic CTranslate2 models.

Run from scripts/: python3 -m unittest test_ct2_to_ggml
"""

import hashlib
import io
import struct
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ct2_to_ggml as conv  # noqa: E402

conv.log = lambda _msg: None  # keep test output quiet

# sha256 of whisper's mel_filters.npz["mel_80"] as little-endian float32 bytes.
MEL_80_SHA256 = "85818f156f7e189453901a515e4726d270d307f976e161cf9403e8caab405498"
# sha256 of the default (float64, rounded once) 80-bin filters, as written by
# the reference conversion pinned in scripts/fetch-model.
MEL_80_ONCE_SHA256 = "2150c30cbbeb6029f52002ffa666c1c72d83dbf53f463cb8462052055806e891"

CT2_DTYPE_IDS = {np.dtype(np.float32): 0, np.dtype(np.int8): 1,
                 np.dtype(np.int16): 2, np.dtype(np.float16): 4}


# ---------------------------------------------------------------- helpers

def ct2_string(text):
    raw = text.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def ct2_model_bytes(variables, aliases=(), spec="WhisperSpec"):
    """Serialize variables the way CTranslate2 (binary version 6) does."""
    out = io.BytesIO()
    out.write(struct.pack("<I", 6) + ct2_string(spec) + struct.pack("<I", 3))
    out.write(struct.pack("<I", len(variables)))
    for name, array in variables.items():
        array = np.asarray(array)
        out.write(ct2_string(name) + struct.pack("<B", array.ndim))
        out.write(struct.pack(f"<{array.ndim}I", *array.shape))
        out.write(struct.pack("<BI", CT2_DTYPE_IDS[array.dtype], array.nbytes))
        out.write(array.tobytes())
    out.write(struct.pack("<I", len(aliases)))
    for alias, target in aliases:
        out.write(ct2_string(alias) + ct2_string(target))
    return out.getvalue()


def tiny_whisper(state=128, mels=80, vocab=12, ctx_audio=6, ctx_text=5, ffn=256):
    """A one-layer Whisper in CTranslate2 naming, float16, distinct values."""
    rng = np.random.default_rng(0)

    def rnd(*shape):
        return rng.standard_normal(shape).astype(np.float16)

    v = {
        "encoder/conv1/weight": rnd(state, mels, 3), "encoder/conv1/bias": rnd(state),
        "encoder/conv2/weight": rnd(state, state, 3), "encoder/conv2/bias": rnd(state),
        "encoder/position_encodings/encodings": rnd(ctx_audio, state),
        "encoder/layer_norm/gamma": rnd(state), "encoder/layer_norm/beta": rnd(state),
        "decoder/embeddings/weight": rnd(vocab, state),
        "decoder/position_encodings/encodings": rnd(ctx_text, state),
        "decoder/layer_norm/gamma": rnd(state), "decoder/layer_norm/beta": rnd(state),
        "decoder/num_heads": np.array(state // 64, dtype=np.int16),
    }
    for stack in ("encoder", "decoder"):
        p = f"{stack}/layer_0"
        qkv_bias = rnd(3 * state)
        qkv_bias[state:2 * state] = 0
        v.update({
            f"{p}/self_attention/linear_0/weight": rnd(3 * state, state),
            f"{p}/self_attention/linear_0/bias": qkv_bias,
            f"{p}/self_attention/linear_1/weight": rnd(state, state),
            f"{p}/self_attention/linear_1/bias": rnd(state),
            f"{p}/self_attention/layer_norm/gamma": rnd(state),
            f"{p}/self_attention/layer_norm/beta": rnd(state),
            f"{p}/ffn/linear_0/weight": rnd(ffn, state), f"{p}/ffn/linear_0/bias": rnd(ffn),
            f"{p}/ffn/linear_1/weight": rnd(state, ffn), f"{p}/ffn/linear_1/bias": rnd(state),
            f"{p}/ffn/layer_norm/gamma": rnd(state), f"{p}/ffn/layer_norm/beta": rnd(state),
        })
    kv_bias = rnd(2 * state)
    kv_bias[:state] = 0
    v.update({
        "decoder/layer_0/attention/linear_0/weight": rnd(state, state),
        "decoder/layer_0/attention/linear_0/bias": rnd(state),
        "decoder/layer_0/attention/linear_1/weight": rnd(2 * state, state),
        "decoder/layer_0/attention/linear_1/bias": kv_bias,
        "decoder/layer_0/attention/linear_2/weight": rnd(state, state),
        "decoder/layer_0/attention/linear_2/bias": rnd(state),
        "decoder/layer_0/attention/layer_norm/gamma": rnd(state),
        "decoder/layer_0/attention/layer_norm/beta": rnd(state),
    })
    return v


def write_model_dir(root, variables, tokens=("!", "Ġhello", "Ã©"), parts=1):
    data = ct2_model_bytes(variables, [("decoder/projection/weight",
                                        "decoder/embeddings/weight")])
    if parts == 1:
        (root / "model.bin").write_bytes(data)
    else:
        step = len(data) // parts + 1
        for i in range(parts):
            (root / f"model.bin.part{i + 1}").write_bytes(data[i * step:(i + 1) * step])
    vocab = list(tokens) + ["<|endoftext|>", "<|startoftranscript|>"]
    (root / "vocabulary.txt").write_text("\n".join(vocab), encoding="utf-8")


def read_ggml(path):
    """Parse a ggml file: (hparams list, mel filters, tokens, {name: (ftype, array)})."""
    r = conv.ByteReader(Path(path).read_bytes())
    magic, *hp = r.unpack("12i")
    assert magic == conv.GGML_MAGIC
    rows, cols = r.unpack("2i")
    mel = np.frombuffer(r.take(rows * cols * 4), "<f4").reshape(rows, cols)
    tokens = [bytes(r.take(r.unpack("i")[0])) for _ in range(r.unpack("i")[0])]
    tensors = {}
    while r.pos < len(r.data):
        n_dims, name_len, ftype = r.unpack("3i")
        shape = tuple(reversed(r.unpack(f"{n_dims}i")))
        name = bytes(r.take(name_len)).decode()
        dtype = "<f2" if ftype == 1 else "<f4"
        count = int(np.prod(shape))
        data = np.frombuffer(r.take(count * np.dtype(dtype).itemsize), dtype)
        tensors[name] = (ftype, data.reshape(shape))
    return hp, mel, tokens, tensors


ATTENTION = ["query.weight", "query.bias", "key.weight", "value.weight", "value.bias",
             "out.weight", "out.bias"]
MLP = ["mlp_ln.weight", "mlp_ln.bias", "mlp.0.weight", "mlp.0.bias",
       "mlp.2.weight", "mlp.2.bias"]
SELF_BLOCK = ["attn_ln.weight", "attn_ln.bias", *(f"attn.{n}" for n in ATTENTION), *MLP]
CROSS_BLOCK = ["attn_ln.weight", "attn_ln.bias", *(f"attn.{n}" for n in ATTENTION),
               "cross_attn_ln.weight", "cross_attn_ln.bias",
               *(f"cross_attn.{n}" for n in ATTENTION), *MLP]


# ------------------------------------------------------------------ tests

class TokenTests(unittest.TestCase):
    def test_byte_table_is_a_bijection(self):
        table = conv.bytes_to_unicode()
        self.assertEqual(sorted(table), list(range(256)))
        self.assertEqual(len(set(table.values())), 256)
        self.assertEqual(table[ord(" ")], "Ġ")

    def test_tokens_stop_before_endoftext(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "vocabulary.txt"
            path.write_text("!\nĠhello\nÃ©\n\n<|endoftext|>\n<|en|>", encoding="utf-8")
            tokens = conv.token_bytes(path)
        self.assertEqual(tokens, [b"!", b" hello", "é".encode(), b""])

    def test_missing_endoftext_is_an_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "vocabulary.txt"
            path.write_text("a\nb", encoding="utf-8")
            with self.assertRaises(ValueError):
                conv.token_bytes(path)


def mel_sha256(mel):
    return hashlib.sha256(mel.astype("<f4").tobytes()).hexdigest()


class MelTests(unittest.TestCase):
    def test_published_matches_whisper_mel_80(self):
        mel = conv.mel_filters(80, published=True)
        self.assertEqual(mel.shape, (80, 201))
        self.assertEqual(mel.dtype, np.float32)
        self.assertEqual(float(mel[0, 1]), 0.02486259490251541)
        self.assertFalse(np.signbit(mel).any())
        self.assertEqual(mel_sha256(mel), MEL_80_SHA256)

    def test_default_is_rounded_once(self):
        mel = conv.mel_filters(80)
        self.assertEqual(mel.shape, (80, 201))
        self.assertEqual(mel.dtype, np.float32)
        self.assertEqual(mel_sha256(mel), MEL_80_ONCE_SHA256)
        # Only the zero at [0, 0] (-0.0 / width) is negative.
        self.assertEqual(np.argwhere(np.signbit(mel)).tolist(), [[0, 0]])
        # Within one float32 rounding of the published (twice rounded) filters.
        published = conv.mel_filters(80, published=True)
        np.testing.assert_array_max_ulp(mel, published, maxulp=1)
        self.assertGreater(int(np.sum(mel != published)), 0)

    def test_128_bins(self):
        self.assertEqual(conv.mel_filters(128).shape, (128, 201))
        self.assertEqual(conv.mel_filters(128, published=True).shape, (128, 201))


class Ct2ReaderTests(unittest.TestCase):
    def test_round_trip_with_alias_and_scalars(self):
        variables = {"a/weight": np.arange(6, dtype=np.float16).reshape(2, 3),
                     "a/flag": np.array(1, dtype=np.int8),
                     "b/bias": np.array([1.5, -2], dtype=np.float32)}
        spec, rev, got = conv.parse_ct2(ct2_model_bytes(variables, [("c/weight", "a/weight")]))
        self.assertEqual((spec, rev), ("WhisperSpec", 3))
        np.testing.assert_array_equal(got["a/weight"], variables["a/weight"])
        np.testing.assert_array_equal(got["c/weight"], variables["a/weight"])
        self.assertEqual(int(got["a/flag"]), 1)
        self.assertEqual(got["b/bias"].dtype, np.float32)

    def test_truncated_file_is_an_error(self):
        data = ct2_model_bytes({"x": np.zeros(4, dtype=np.float16)})
        with self.assertRaises(ValueError):
            conv.parse_ct2(data[:-5])

    def test_parts_are_joined_in_numeric_order(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for i in (1, 2, 10):
                (root / f"model.bin.part{i}").write_bytes(str(i).encode())
            self.assertEqual(conv.read_model_bytes(root), b"1210")


class ConvertTests(unittest.TestCase):
    def convert(self, variables, parts=1, published=False):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        root = Path(tmp.name)
        write_model_dir(root, variables, parts=parts)
        out = root / "ggml.bin"
        conv.convert(root, out, published=published)
        return read_ggml(out)

    def test_header_and_tokens(self):
        hp, mel, tokens, _ = self.convert(tiny_whisper(), parts=3)
        self.assertEqual(hp, [12, 6, 128, 2, 1, 5, 128, 2, 1, 80, 1])
        np.testing.assert_array_equal(mel, conv.mel_filters(80))
        self.assertEqual(tokens, [b"!", b" hello", "é".encode()])

    def test_published_header_and_mel(self):
        hp, mel, tokens, _ = self.convert(tiny_whisper(), published=True)
        self.assertEqual(hp, [12, 6, 128, 2, 1, 5, 128, 2, 1, 80, 1])
        np.testing.assert_array_equal(mel, conv.mel_filters(80, published=True))
        self.assertEqual(mel_sha256(mel), MEL_80_SHA256)

    def test_endoftext_only_published_and_english(self):
        _, _, tokens, _ = self.convert(tiny_whisper(), published=True)
        self.assertEqual(len(tokens), 3)
        english = tiny_whisper(vocab=conv.ENGLISH_VOCAB_SIZE)
        _, _, tokens, _ = self.convert(english, published=True)
        self.assertEqual(tokens[-1], b"<|endoftext|>")
        _, _, tokens, _ = self.convert(english)
        self.assertEqual(tokens, [b"!", b" hello", "é".encode()])

    def test_tensor_order(self):
        *_, tensors = self.convert(tiny_whisper())
        self.assertEqual(list(tensors), [
            "encoder.positional_embedding",
            "encoder.conv1.weight", "encoder.conv1.bias",
            "encoder.conv2.weight", "encoder.conv2.bias",
            "encoder.ln_post.weight", "encoder.ln_post.bias",
            *(f"encoder.blocks.0.{n}" for n in SELF_BLOCK),
            "decoder.positional_embedding", "decoder.token_embedding.weight",
            "decoder.ln.weight", "decoder.ln.bias",
            *(f"decoder.blocks.0.{n}" for n in CROSS_BLOCK)])

    def test_published_tensor_order(self):
        *_, tensors = self.convert(tiny_whisper(), published=True)
        names = list(tensors)
        self.assertEqual(names[:6], [
            "decoder.positional_embedding", "encoder.positional_embedding",
            "decoder.token_embedding.weight", "decoder.blocks.0.mlp_ln.weight",
            "decoder.blocks.0.mlp_ln.bias", "decoder.blocks.0.mlp.0.weight"])
        self.assertEqual(names[-2:], ["encoder.ln_post.weight", "encoder.ln_post.bias"])
        self.assertLess(names.index("decoder.ln.bias"), names.index("encoder.conv1.weight"))
        self.assertLess(names.index("decoder.blocks.0.attn.out.bias"),
                        names.index("decoder.blocks.0.cross_attn_ln.weight"))
        self.assertNotIn("decoder.blocks.0.attn.key.bias", names)
        self.assertEqual(len(names), 3 + 24 + 2 + 4 + 15 + 2)

    def test_layouts_differ_only_in_order_and_mel(self):
        hp, mel, tokens, tensors = self.convert(tiny_whisper())
        p_hp, p_mel, p_tokens, p_tensors = self.convert(tiny_whisper(), published=True)
        self.assertEqual((hp, tokens), (p_hp, p_tokens))
        self.assertEqual(sorted(tensors), sorted(p_tensors))
        for name, (ftype, data) in tensors.items():
            self.assertEqual(ftype, p_tensors[name][0], name)
            np.testing.assert_array_equal(data, p_tensors[name][1], err_msg=name)
        self.assertNotEqual(mel.tobytes(), p_mel.tobytes())

    def test_dtypes_and_shapes(self):
        *_, t = self.convert(tiny_whisper())
        self.assertEqual(t["encoder.conv1.bias"][0], 0)
        self.assertEqual(t["encoder.conv1.bias"][1].shape, (128, 1))
        self.assertEqual(t["encoder.conv1.weight"][0], 1)
        self.assertEqual(t["encoder.conv1.weight"][1].shape, (128, 80, 3))
        self.assertEqual(t["encoder.positional_embedding"][0], 0)
        self.assertEqual(t["decoder.positional_embedding"][0], 0)
        self.assertEqual(t["decoder.blocks.0.mlp_ln.weight"][0], 0)
        self.assertEqual(t["decoder.token_embedding.weight"][0], 1)

    def test_attention_is_split_losslessly(self):
        v = tiny_whisper()
        *_, t = self.convert(v)
        qkv = v["encoder/layer_0/self_attention/linear_0/weight"]
        np.testing.assert_array_equal(t["encoder.blocks.0.attn.query.weight"][1], qkv[:128])
        np.testing.assert_array_equal(t["encoder.blocks.0.attn.key.weight"][1], qkv[128:256])
        np.testing.assert_array_equal(t["encoder.blocks.0.attn.value.weight"][1], qkv[256:])
        kv_bias = v["decoder/layer_0/attention/linear_1/bias"]
        np.testing.assert_array_equal(t["decoder.blocks.0.cross_attn.value.bias"][1],
                                      kv_bias[128:].astype(np.float32))

    def test_nonzero_key_bias_is_refused(self):
        v = tiny_whisper()
        v["encoder/layer_0/self_attention/linear_0/bias"][130] = 1
        with self.assertRaises(ValueError):
            self.convert(v)

    def test_quantized_weights_are_refused(self):
        v = tiny_whisper()
        v["encoder/conv2/weight"] = np.zeros((128, 128, 3), dtype=np.int8)
        with self.assertRaises(ValueError):
            self.convert(v)


if __name__ == "__main__":
    unittest.main()
