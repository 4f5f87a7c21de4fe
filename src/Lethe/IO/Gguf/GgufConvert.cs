// `lethe convert`: a Hugging Face folder or a .gguf file → a Hugging Face folder or a .gguf file.
// The input is never modified and the output never lands inside it; the output must not exist yet.
// A folder is written under a temporary name beside its destination and renamed when complete
// (a crash leaves no half-written model under the requested name); a file is written atomically.
// Adapters (KSD, NA) are Lethe files: they are not merged into GGUF and are refused as input.
using Lethe.Models;
using Lethe.Tensors;

namespace Lethe.IO.Gguf;

public enum ConvertTarget { Hf, Gguf }

public static class GgufConvert
{
    public static ConvertTarget ParseTarget(string s) => s.ToLowerInvariant() switch
    {
        "hf" => ConvertTarget.Hf, "gguf" => ConvertTarget.Gguf,
        _ => throw LetheException.About($"target '{s}': use hf (a Hugging Face folder) or gguf (a llama.cpp / Ollama file)", "target"),
    };

    /// <summary>Converts input to output; type is f32|f16|bf16|q8_0 (q8_0 only for GGUF), null = as the input stores it.</summary>
    public static void Run(string input, string output, ConvertTarget target, string? type)
    {
        string inFull = Path.GetFullPath(input).TrimEnd(Path.DirectorySeparatorChar);
        string outFull = Path.GetFullPath(output).TrimEnd(Path.DirectorySeparatorChar);
        bool inputIsGguf = GgufFile.LooksLikeGguf(input);
        if (!inputIsGguf && !Directory.Exists(input))
            throw new LetheException(File.Exists(input)
                ? $"{input}: is neither a model folder nor a .gguf file; unlearning adapters (KSD, NA) stay Lethe adapters — convert the base model and apply the adapter file to it when it runs"
                : $"{input}: not found; IN is a Hugging Face model folder or a .gguf file");
        if (outFull == inFull || outFull.StartsWith(inFull + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new LetheException($"{output}: is the input or lies inside it; write the conversion to a new path so the input stays intact");
        if (File.Exists(output) || Directory.Exists(output))
            throw new LetheException($"{output}: already exists; choose a new path or delete it first (convert never overwrites)");
        string? parent = Path.GetDirectoryName(outFull);
        if (parent is null || !Directory.Exists(parent))
            throw new LetheException($"{output}: the folder {parent} does not exist; create it first");

        if (target == ConvertTarget.Hf)
        {
            DType? dtype = type is null ? null : type.ToLowerInvariant() == "q8_0"
                ? throw LetheException.About("type q8_0 is a GGUF type; a Hugging Face folder is written as f32, f16 or bf16", "type")
                : DTypes.Parse(type);
            using var model = ModelLoader.Load(input, dtype);
            string temporary = Path.Combine(parent, $".{Path.GetFileName(outFull)}.{Guid.NewGuid():N}.lethe-tmp");
            try
            {
                ModelSaver.Save(model, temporary, dtype: dtype);
                Directory.Move(temporary, outFull);
            }
            catch
            {
                try { if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true); } catch (IOException) { }
                throw;
            }
        }
        else
        {
            if (!outFull.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
                throw new LetheException($"{output}: a GGUF output file name must end in .gguf");
            var outType = type is null ? (GgufOutputType?)null : GgufExport.ParseType(type);
            // Load at full precision when writing f32 or quantizing; otherwise in the output's dtype.
            DType? load = outType switch { GgufOutputType.F16 => DType.F16, GgufOutputType.BF16 => DType.BF16, null => null, _ => DType.F32 };
            using var model = ModelLoader.Load(input, load);
            var stored = model.Weights.Values.Where(w => w.Rank == 2).Select(w => w.DType).Distinct().ToList();
            var resolved = outType ?? (stored.All(d => d == DType.F32) ? GgufOutputType.F32 : stored.All(d => d == DType.F16) ? GgufOutputType.F16 : GgufOutputType.BF16);
            GgufExport.Write(model, outFull, resolved, Path.GetFileNameWithoutExtension(inFull));
        }
    }
}
