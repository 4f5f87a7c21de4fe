// Arguments and options shared by several verbs, so they are spelled and checked the same way.
using System.CommandLine;
using Lethe.Models;
using Lethe.Tensors;

namespace Lethe.Cli.Commands;

internal static class CliArgs
{
    public static Argument<string> Model() => new("MODEL") { Description = "A model folder (config.json, *.safetensors, tokenizer.json) or a .gguf file" };

    public static Option<string?> DType() => new("--dtype") { Description = "Convert weights on load: f32, f16 or bf16 (default: as stored)" };

    public static TransformerModel LoadModel(ParseResult parse, Argument<string> model, Option<string?> dtype)
    {
        string? d = parse.GetValue(dtype);
        return ModelLoader.Load(parse.GetValue(model)!, d is null ? null : DTypes.Parse(d));
    }

    /// <summary>"1,2,3" → ids; a clear error naming the bad item.</summary>
    public static int[] ParseIds(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new LetheException($"{option}: give at least one token id, for example {option} 1,2,3");
        return parts.Select(p => int.TryParse(p, out int id) && id >= 0 ? id
            : throw new LetheException($"{option}: '{p}' is not a token id (a non-negative integer)")).ToArray();
    }
}
