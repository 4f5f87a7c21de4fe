// The JavaScript reference for Lethe's GGUF writer: @huggingface/gguf (Hugging Face's GGUF parser)
// reads a file and this prints its header as JSON, so a test can compare it field by field with
// what Lethe wrote. Usage: node gguf.mjs FILE.gguf (run beside the node_modules folder).
// Prints {"tensorDataOffset": "N", "metadata": {key: {"type": T, "subType": S|null, "value": V}},
//         "tensors": [{"name", "shape": ["ne0", ...], "dtype": D, "offset": "N"}]}
// (bigints as decimal strings; GGUF order: shape is ne, fastest-varying dimension first).
import path from "node:path";
import { gguf } from "@huggingface/gguf";

const file = path.resolve(process.argv[2]);
const parsed = await gguf(file, { allowLocalFile: true, typedMetadata: true });
const big = (_, v) => (typeof v === "bigint" ? v.toString() : v);
const metadata = {};
for (const [key, entry] of Object.entries(parsed.typedMetadata)) {
  metadata[key] = { type: entry.type, subType: entry.subType ?? null, value: entry.value };
}
const tensors = parsed.tensorInfos.map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype, offset: t.offset }));
process.stdout.write(JSON.stringify({ tensorDataOffset: parsed.tensorDataOffset, metadata, tensors }, big));
