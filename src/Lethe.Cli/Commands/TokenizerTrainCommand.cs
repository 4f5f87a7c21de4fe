// `lethe tokenizer train --corpus FILE... --vocab-size N --out tokenizer.json`: trains a byte-level
// BPE tokenizer (GPT-2 recipe) and writes a standard tokenizer.json (atomically: temp file + move).
using System.CommandLine;
using Lethe.IO;
using Lethe.Tokenizers;
using Lethe.Util;

namespace Lethe.Cli.Commands;

public static class TokenizerTrainCommand
{
    public static Command Build()
    {
        var corpus = new Option<string[]>("--corpus") { Description = "UTF-8 text files to learn from", Required = true, AllowMultipleArgumentsPerToken = true };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Vocabulary size, special tokens and the 256 byte symbols included", Required = true };
        var output = new Option<string>("--out") { Description = "Where to write tokenizer.json", Required = true };
        var minFrequency = new Option<int>("--min-frequency") { Description = "Stop when the best pair occurs fewer times", DefaultValueFactory = _ => 2 };
        var special = new Option<string[]>("--special-tokens") { Description = "Special tokens, given the first ids (default: <|endoftext|>)", AllowMultipleArgumentsPerToken = true };
        var bos = new Option<string?>("--bos") { Description = "A special token to put before every encoded text (as Llama's tokenizers do), e.g. <s>" };
        var train = new Command("train", "Train a byte-level BPE tokenizer and write tokenizer.json");
        var force = CliChecks.Force();
        train.Add(corpus); train.Add(vocabSize); train.Add(output); train.Add(minFrequency); train.Add(special); train.Add(bos); train.Add(force);
        train.SetAction(parse =>
        {
            var err = parse.InvocationConfiguration.Error;
            bool quiet = parse.GetValue(LetheCli.Quiet);
            string full = CliChecks.Outputs(parse, "tokenizer train", force).Inputs(parse.GetValue(corpus)).File("--out", parse.GetValue(output), OutputPolicy.JsonWithKeys("model", "pre_tokenizer"));
            var specials = parse.GetValue(special);
            var options = new BpeTrainerOptions(parse.GetValue(vocabSize), parse.GetValue(minFrequency),
                specials is { Length: > 0 } ? specials : null, parse.GetValue(bos));
            string json = BpeTrainer.TrainFiles(parse.GetValue(corpus)!, options, quiet ? null : m => err.WriteLine(m));
            string outPath = parse.GetValue(output)!;
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            AtomicFile.WriteAllText(full, json);
            var check = Tokenizer.Load(full);
            parse.InvocationConfiguration.Output.WriteLine($"wrote {outPath}: vocabulary {check.VocabSize}");
            return 0;
        });
        var group = new Command("tokenizer", "Tokenizer tools");
        group.Add(train);
        return group;
    }
}
