using System.CommandLine;
using ParticleGrid.Cli;
using ParticleGrid.Cli.Commands;
using ParticleGrid.Cli.Ingestion;
using ParticleGrid.Ingestion.Commands;

// Commands that run native code run in a child process, so that a native fault is reported instead of silent.
if (NativeFaultSupervisor.Supervise(args) is int supervisedExitCode) return supervisedExitCode;

// particlegrid: the ParticleGrid command line. Each command lives in Commands/ and says what it does in --help.
var root = new RootCommand("ParticleGrid: classifies flow-imaging microscopy images of subvisible particles " +
                           "(air bubble, silicone oil, glass, protein aggregate) with ResNet50, DenseNet201 and ShuffleNetV2.")
{
    SynthCommand.Create(),
    TrainCommand.Create(),
    RefitCommand.Create(),
    EvaluateCommand.Create(),
    PredictCommand.Create(),
    DemoCommand.Create(),
    ServeCommand.Create(),
    LotCommand.Create(),
    IngestCommand.Create(EmbeddedIngestSite.Instance),
    WatchCommand.Create(EmbeddedIngestSite.Instance),
    BenchCommand.Create(),
    TokenCommand.Create(),
    StoreCommand.Create(),
};
int exitCode = await root.Parse(args).InvokeAsync();
NativeFaultSupervisor.ChildExited();
return exitCode;
