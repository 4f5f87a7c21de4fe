// `lethe logits MODEL --ids 1,2,3 --out F.safetensors`: raw logits [T, vocab] as float32 under the
// name "logits", for checking numerics from outside (e.g. against transformers).
using System.CommandLine;
using Lethe.IO;
using Lethe.Tensors.Autograd;

namespace Lethe.Cli.Commands;

public static class LogitsCommand
{
    public static Command Build()
    {
        var model = CliArgs.Model();
        var dtype = CliArgs.DType();
        var ids = new Option<string>("--ids") { Description = "Comma-separated token ids", Required = true };
        var output = new Option<string>("--out") { Description = "Output .safetensors file", Required = true };
        var force = CliChecks.Force();
        var cmd = new Command("logits", "Write a model's logits for given token ids to a safetensors file") { model, dtype, ids, output, force };
        cmd.SetAction(parse =>
        {
            var tokens = CliArgs.ParseIds(parse.GetValue(ids)!, "--ids");
            string outPath = CliChecks.Outputs(parse, "logits", force).Inputs(parse.GetValue(model)).File("--out", parse.GetValue(output), OutputPolicy.SafetensorsWith("lethe", "logits"));
            using var m = CliArgs.LoadModel(parse, model, dtype);
            foreach (int id in tokens)
                if (id >= m.Config.VocabSize) throw new LetheException($"--ids: token id {id} is outside the vocabulary (size {m.Config.VocabSize})");
            using var noGrad = Tape.NoGrad();
            var logits = m.Forward(tokens, 1);
            var writer = new SafeTensorsWriter();
            writer.Metadata["format"] = "pt";
            writer.Metadata["ids"] = string.Join(",", tokens);
            writer.Metadata["lethe"] = "logits";
            writer.Add("logits", logits).Save(outPath);
            parse.InvocationConfiguration.Output.WriteLine($"wrote logits [{tokens.Length}, {m.Config.VocabSize}] to {parse.GetValue(output)}");
            return 0;
        });
        return cmd;
    }
}
