// The list of verbs. A new verb is a file in Commands/ with a static Build() and one line here.
using System.CommandLine;

namespace Lethe.Cli.Commands;

public static class CommandRegistry
{
    public static IEnumerable<Command> All()
    {
        yield return EngineInfoCommand.Build();
        yield return InfoCommand.Build();
        yield return ConvertCommand.Build();
        yield return LogitsCommand.Build();
        yield return GenerateCommand.Build();
        yield return ServeCommand.Build();
        yield return TrainCommand.Build();
        yield return TokenizeCommand.Build();
        yield return DetokenizeCommand.Build();
        yield return TokenizerTrainCommand.Build();
        yield return WorldGenerateCommand.Build();
        yield return EvalCommand.Build();
        yield return UnlearnTrainCommand.AddTo(UnlearnCommand.Build());
        yield return DemoCommand.Build();
        yield return ReproCommand.Build();
        yield return DissectCommand.Build();
        yield return VectorsCommand.Build();
        yield return VerifyCommand.Build();
    }
}
