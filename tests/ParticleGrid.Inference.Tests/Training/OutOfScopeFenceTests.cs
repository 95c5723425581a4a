using ParticleGrid.Imaging;
using ParticleGrid.Inference.Data;
using ParticleGrid.Training.Data;
using ParticleGrid.Inference.Tests.Support;
using ParticleGrid.Training;

namespace ParticleGrid.Inference.Tests.Training;

/// <summary>Out-of-scope images test the "unknown" answer; a training run must never take them in, not even by accident.</summary>
public sealed class OutOfScopeFenceTests : IDisposable
{
    readonly TemporaryDirectory _dir = new();
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Training_refuses_an_out_of_scope_set()
    {
        string set = _dir.File("oos");
        SyntheticParticles.WriteOutOfScopeSet(set, perKind: 2, seed: 1, imageSize: 32);
        var error = Assert.Throws<DataFolderException>(() => LabelledImageFolder.OpenForTraining(set));
        Assert.Contains("never trained on", error.Message);
        // Evaluation may still read it (that is what it is for).
        Assert.Equal(["agglomerate", "debris", "fibre", "schlieren"], LabelledImageFolder.Open(set).Classes);
    }

    [Theory]
    [InlineData("fibre")]
    [InlineData("Fibres")]
    [InlineData("schlieren")]
    [InlineData("debris")]
    [InlineData("agglomerates")]
    public void Training_refuses_a_data_folder_with_an_out_of_scope_class_folder(string name)
    {
        string data = _dir.File("data");
        SyntheticParticles.WriteDataset(data, perClass: 2, seed: 1, imageSize: 32);
        string stray = Directory.CreateDirectory(Path.Combine(data, name)).FullName;
        File.Copy(Path.Combine(data, "glass", "glass_00001.png"), Path.Combine(stray, "x.png"));

        var error = Assert.Throws<DataFolderException>(() => LabelledImageFolder.OpenForTraining(data));
        Assert.Contains(stray, error.Message);
        Assert.Contains("out-of-scope", error.Message);

        // The trainer uses the fence before it loads an image or a network, and writes nothing.
        string model = _dir.File("model");
        var trainer = new NetworkTrainer(new TrainingOptions("shufflenet_v2", data, model, Epochs: 1, InputSize: 32, BatchSize: 2));
        Assert.Throws<DataFolderException>(() => trainer.Train());
        Assert.False(Directory.Exists(model));
    }

    [Fact]
    public void The_four_types_in_any_look_are_still_trainable()
    {
        string data = _dir.File("shifted");
        SyntheticParticles.WriteDataset(data, perClass: 2, seed: 1, imageSize: 32, look: InstrumentLook.Presets[^1], artefact: ImagingArtefact.CutByFrame);
        Assert.Equal(["bubble", "glass", "protein", "silicone_oil"], LabelledImageFolder.OpenForTraining(data).Classes);
    }
}
