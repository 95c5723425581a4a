namespace ParticleGrid.Cli.Tests;

/// <summary>synth's out-of-scope sets and shifted looks as a user runs them, and the fence that keeps the former out of training.</summary>
public sealed class SynthCommandTests : IDisposable
{
    readonly string scratch = Directory.CreateTempSubdirectory("pg-synth-").FullName;
    public void Dispose() => Directory.Delete(scratch, recursive: true);

    [Fact]
    public void Out_of_scope_writes_the_four_kinds_apart_and_train_refuses_them_in_one_line()
    {
        string set = Path.Combine(scratch, "oos");
        var result = ParticleGridProcess.Run("synth", "--out", set, "--out-of-scope", "--per-class", "2", "--size", "32");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["agglomerate", "debris", "fibre", "schlieren"], Directory.GetDirectories(set).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.All(Directory.GetDirectories(set), d => Assert.Equal(2, Directory.GetFiles(d, "*.png").Length));
        Assert.Contains("never for training", result.Error + result.Output);

        var train = ParticleGridProcess.Run("train", "--data", set, "--arch", "shufflenet_v2", "--out", Path.Combine(scratch, "model"),
            "--epochs", "1", "--input-size", "32", "--batch", "2");
        Assert.True(train.ExitCode != 0, train.ToString());
        var error = Assert.Single(train.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error: "));
        Assert.Contains("never trained on", error);
        Assert.DoesNotContain("   at ", train.Error);
        Assert.False(Directory.Exists(Path.Combine(scratch, "model")));

        // Nor can the four types be written beside them.
        var mixed = ParticleGridProcess.Run("synth", "--out", set, "--per-class", "2", "--size", "32");
        Assert.True(mixed.ExitCode != 0, mixed.ToString());
        Assert.Contains("out-of-scope folder", mixed.Error);
    }

    [Fact]
    public void A_look_and_an_artefact_write_the_four_class_folders_and_the_help_names_the_looks()
    {
        string set = Path.Combine(scratch, "shifted");
        var result = ParticleGridProcess.Run("synth", "--out", set, "--look", "coarse-pixels", "--artefact", "out-of-focus", "--per-class", "2", "--size", "32");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["bubble", "glass", "protein", "silicone_oil"], Directory.GetDirectories(set).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains("1.6 um/px, look coarse-pixels, artefact out-of-focus", result.Error + result.Output);

        var help = ParticleGridProcess.Run("synth", "--help");
        foreach (string look in new[] { "default", "dim-background", "textured-background", "high-contrast", "low-contrast", "blurred", "coarse-pixels", "noisy" })
            Assert.Contains($"{look}: ", help.Output);
        Assert.Contains("--out-of-scope", help.Output);
    }

    [Fact]
    public void The_old_include_unknown_option_says_where_fibres_go_now()
    {
        var result = ParticleGridProcess.Run("synth", "--out", scratch, "--per-class", "2", "--include-unknown");
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("--out-of-scope", result.Error);
        Assert.False(Directory.Exists(Path.Combine(scratch, "fibre")));
    }
}
