// `lethe convert IN OUT --to hf|gguf [--type f32|f16|bf16|q8_0]`: between Hugging Face folders and
// GGUF files (llama.cpp / Ollama), in both directions (GgufConvert). Adapters stay Lethe adapters.
using System.CommandLine;
using Lethe.IO.Gguf;

namespace Lethe.Cli.Commands;

public static class ConvertCommand
{
    public static Command Build()
    {
        var input = new Argument<string>("IN") { Description = "A Hugging Face model folder or a .gguf file" };
        var output = new Argument<string>("OUT") { Description = "The new folder (--to hf) or .gguf file (--to gguf); must not exist" };
        var to = new Option<string>("--to") { Description = "hf or gguf", Required = true };
        var type = new Option<string?>("--type") { Description = "Weight type: f32, f16, bf16, or q8_0 (GGUF only); default: as stored" };
        var cmd = new Command("convert", "Convert a model between a Hugging Face folder and a GGUF file (llama.cpp, Ollama)") { input, output, to, type };
        cmd.SetAction(parse =>
        {
            string inPath = parse.GetValue(input)!, outPath = parse.GetValue(output)!;
            var target = GgufConvert.ParseTarget(parse.GetValue(to)!);
            // The shared output policy (symlinks resolved: never into or over the input); convert
            // itself never overwrites, so an existing OUT is refused by GgufConvert with its own message.
            if (!File.Exists(outPath) && !Directory.Exists(outPath))
            {
                var policy = CliChecks.Outputs(parse, "convert", null).Inputs(inPath);
                if (target == ConvertTarget.Gguf) policy.File("OUT", outPath); else policy.Folder("OUT", outPath);
            }
            GgufConvert.Run(inPath, outPath, target, parse.GetValue(type));
            parse.InvocationConfiguration.Output.WriteLine($"wrote {outPath}");
            return 0;
        });
        return cmd;
    }
}
