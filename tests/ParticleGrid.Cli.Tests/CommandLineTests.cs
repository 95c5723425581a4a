using System.Security.Cryptography;
using System.Text.Json;

namespace ParticleGrid.Cli.Tests;

/// <summary>
/// The commands as a new user runs them, on small synthetic data: synth -> train -> evaluate -> predict, shared by the
/// tests of this class (training once keeps the suite quick).
/// </summary>
public sealed class TrainedModelFixture : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("pg-cli-").FullName;
    public string Data => Path.Combine(Root, "data");
    public string Model => Path.Combine(Root, "model");
    public CommandResult Synth { get; }
    public CommandResult Train { get; }

    public TrainedModelFixture()
    {
        Synth = ParticleGridProcess.Run("synth", "--out", Data, "--per-class", "10", "--seed", "3", "--size", "40");
        Train = ParticleGridProcess.Run("train", "--data", Data, "--arch", "shufflenet_v2", "--out", Model,
            "--epochs", "2", "--input-size", "32", "--batch", "8", "--seed", "5");
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

public sealed class CommandLineTests(TrainedModelFixture trained) : IClassFixture<TrainedModelFixture>, IDisposable
{
    readonly string scratch = Directory.CreateTempSubdirectory("pg-cli-case-").FullName;
    public void Dispose() => Directory.Delete(scratch, recursive: true);

    [Fact]
    public void Synth_writes_class_folders_deterministically_and_says_it_is_synthetic()
    {
        Assert.True(trained.Synth.ExitCode == 0, trained.Synth.ToString());
        foreach (var type in new[] { "bubble", "silicone_oil", "glass", "protein" })
            Assert.Equal(10, Directory.GetFiles(Path.Combine(trained.Data, type), "*.png").Length);
        Assert.False(Directory.Exists(Path.Combine(trained.Data, "fibre")));

        string again = Path.Combine(scratch, "again");
        var rerun = ParticleGridProcess.Run("synth", "--out", again, "--per-class", "10", "--seed", "3", "--size", "40");
        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        Assert.Equal(HashFolder(trained.Data), HashFolder(again));

        var help = ParticleGridProcess.Run("synth", "--help");
        Assert.Contains("SYNTHETIC", help.Output);
    }

    [Fact]
    public void Train_writes_weights_and_a_manifest_that_describes_them()
    {
        Assert.True(trained.Train.ExitCode == 0, trained.Train.ToString());
        // The per-epoch progress line, with loss and accuracy.
        Assert.Matches(@"epoch 2/2: train loss [0-9.]+ acc [0-9.]+ \| validation loss [0-9.]+ acc [0-9.]+", trained.Train.Error);
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(trained.Model, "manifest.json")));
        var root = manifest.RootElement;
        Assert.Equal("shufflenet_v2", root.GetProperty("architecture").GetString());
        Assert.Equal(["bubble", "glass", "protein", "silicone_oil"], root.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(32, root.GetProperty("inputSize").GetInt32());
        Assert.Equal(0.485f, root.GetProperty("normalization").GetProperty("mean")[0].GetSingle());
        Assert.Equal(Sha256(Path.Combine(trained.Model, "weights.pth")), root.GetProperty("weightsSha256").GetString());
        Assert.Equal(HashOfDataAsRecorded(), root.GetProperty("data").GetProperty("sha256").GetString());
        Assert.Equal(28, root.GetProperty("data").GetProperty("trainCount").GetInt32()); // 7 of each 10 per class
        Assert.Equal(12, root.GetProperty("data").GetProperty("validationCount").GetInt32());
        var training = root.GetProperty("training");
        Assert.Equal(0.00625, training.GetProperty("learningRate").GetDouble());
        Assert.StartsWith("AdamW", training.GetProperty("optimizer").GetString());
        Assert.Contains("cosine", training.GetProperty("schedule").GetString());
        Assert.Equal(2, root.GetProperty("history").GetArrayLength());
        Assert.InRange(root.GetProperty("validation").GetProperty("accuracy").GetDouble(), 0, 1);
        Assert.Equal(4, root.GetProperty("validation").GetProperty("perClass").GetArrayLength());
    }

    string HashOfDataAsRecorded()
    {
        // Recompute the manifest's data hash independently: per image (class/name + SHA-256 of its bytes), in order.
        using var all = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var folder in Directory.GetDirectories(trained.Data).Order(StringComparer.Ordinal))
        foreach (var file in Directory.GetFiles(folder, "*.png").Order(StringComparer.Ordinal))
        {
            all.AppendData(System.Text.Encoding.UTF8.GetBytes($"{Path.GetFileName(folder)}/{Path.GetFileName(file)}\n"));
            all.AppendData(SHA256.HashData(File.ReadAllBytes(file)));
        }
        return Convert.ToHexStringLower(all.GetHashAndReset());
    }

    [Fact]
    public void Evaluate_prints_the_study_table_and_writes_json_and_plots()
    {
        string json = Path.Combine(scratch, "eval.json"), plots = Path.Combine(scratch, "plots");
        var result = ParticleGridProcess.Run("evaluate", "--model", trained.Model, "--data", trained.Data, "--json", json, "--plots", plots);
        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var header in new[] { "precision", "recall", "F1", "AUC", "silicone_oil" }) Assert.Contains(header, result.Output);

        using var figures = JsonDocument.Parse(File.ReadAllText(json));
        var model = figures.RootElement.GetProperty("models")[0];
        var confusion = model.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray();
        Assert.Equal(40, confusion.Sum(r => r.Sum()));
        double diagonal = Enumerable.Range(0, 4).Sum(i => confusion[i][i]);
        Assert.Equal(diagonal / 40, model.GetProperty("accuracy").GetDouble(), 6);
        Assert.True(File.Exists(Path.Combine(plots, "confusion_model.png")));
        Assert.True(File.Exists(Path.Combine(plots, "roc_model.png")));
    }

    [Fact]
    public void Evaluate_with_two_models_reports_the_soft_vote_ensemble()
    {
        var result = ParticleGridProcess.Run("evaluate", "--model", $"{trained.Model},{trained.Model}", "--data", trained.Data);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("ensemble", result.Output);
        Assert.Contains("0.90 confidence", result.Output);
    }

    [Fact]
    public void Predict_json_gives_probabilities_in_class_order_and_a_bare_checkpoint_gives_the_same()
    {
        string glass = Directory.GetFiles(Path.Combine(trained.Data, "glass"))[0], bubble = Directory.GetFiles(Path.Combine(trained.Data, "bubble"))[0];
        var fromFolder = ParticleGridProcess.Run("predict", "--model", trained.Model, glass, bubble, "--json");
        Assert.True(fromFolder.ExitCode == 0, fromFolder.ToString());
        var rows = JsonDocument.Parse(fromFolder.Output).RootElement.EnumerateArray().ToList();
        Assert.Equal([Path.GetFileName(glass), Path.GetFileName(bubble)], rows.Select(r => r.GetProperty("file").GetString()));
        foreach (var row in rows)
        {
            var p = row.GetProperty("probabilities").EnumerateArray().Select(v => v.GetDouble()).ToList();
            Assert.Equal(4, p.Count);
            Assert.Equal(1.0, p.Sum(), 4);
        }

        var fromCheckpoint = ParticleGridProcess.Run("predict", "--arch", "shufflenet_v2", "--weights", Path.Combine(trained.Model, "weights.pth"),
            "--input-size", "32", glass, bubble, "--json");
        Assert.True(fromCheckpoint.ExitCode == 0, fromCheckpoint.ToString());
        var bare = JsonDocument.Parse(fromCheckpoint.Output).RootElement.EnumerateArray().ToList();
        for (int i = 0; i < rows.Count; i++)
        {
            var a = rows[i].GetProperty("probabilities").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            var b = bare[i].GetProperty("probabilities").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(a, b);
        }
    }

    [Fact]
    public void Predict_reports_a_bad_image_and_still_answers_for_the_good_one()
    {
        string bad = Path.Combine(scratch, "not-an-image.png");
        File.WriteAllText(bad, "this is text");
        string good = Directory.GetFiles(Path.Combine(trained.Data, "protein"))[0];
        var result = ParticleGridProcess.Run("predict", "--model", trained.Model, bad, good, "--json");
        Assert.Equal(1, result.ExitCode);
        var rows = JsonDocument.Parse(result.Output).RootElement.EnumerateArray().ToList();
        Assert.Contains("not-an-image.png", rows[0].GetProperty("error").GetString());
        Assert.Equal(4, rows[1].GetProperty("probabilities").GetArrayLength());
    }

    // ---- bad input: one line naming the file and the cause, non-zero exit, nothing half-written ----

    [Fact]
    public void Train_on_a_folder_without_class_folders_fails_in_one_line()
    {
        string empty = Directory.CreateDirectory(Path.Combine(scratch, "flat")).FullName;
        File.WriteAllBytes(Path.Combine(empty, "loose.png"), File.ReadAllBytes(Directory.GetFiles(Path.Combine(trained.Data, "glass"))[0]));
        AssertFailsCleanly(TrainInto(empty, out var model), empty, "no class folders");
        Assert.False(Directory.Exists(model));
    }

    [Fact]
    public void Train_with_an_empty_class_fails_naming_it()
    {
        string data = CopyOfData();
        foreach (var f in Directory.GetFiles(Path.Combine(data, "glass"))) File.Delete(f);
        AssertFailsCleanly(TrainInto(data, out var model), Path.Combine(data, "glass"), "no images");
        Assert.False(Directory.Exists(model));
    }

    [Fact]
    public void Train_with_an_unreadable_image_fails_naming_the_file_and_writes_no_model()
    {
        string data = CopyOfData();
        string broken = Path.Combine(data, "protein", "protein_00003.png");
        File.WriteAllBytes(broken, File.ReadAllBytes(broken)[..60]); // truncated
        AssertFailsCleanly(TrainInto(data, out var model), broken, "corrupt");
        Assert.False(Directory.Exists(model));
        Assert.Empty(Directory.GetDirectories(scratch, ".model*"));
    }

    [Fact]
    public void Predict_with_a_checkpoint_of_another_architecture_fails_naming_the_file()
    {
        string weights = Path.Combine(trained.Model, "weights.pth");
        string image = Directory.GetFiles(Path.Combine(trained.Data, "glass"))[0];
        AssertFailsCleanly(ParticleGridProcess.Run("predict", "--arch", "densenet201", "--weights", weights, image), weights, "is it a densenet201 checkpoint");
    }

    [Fact]
    public void A_corrupt_pth_fails_naming_the_file()
    {
        string corrupt = Path.Combine(scratch, "corrupt.pth");
        File.WriteAllBytes(corrupt, RandomNumberGenerator.GetBytes(4096));
        string image = Directory.GetFiles(Path.Combine(trained.Data, "glass"))[0];
        AssertFailsCleanly(ParticleGridProcess.Run("predict", "--arch", "resnet50", "--weights", corrupt, image), corrupt, "not a readable PyTorch state_dict");
        AssertFailsCleanly(TrainInto(trained.Data, out var model, "--weights", corrupt), corrupt, "not a readable PyTorch state_dict");
        Assert.False(Directory.Exists(model));
    }

    [Fact]
    public void Train_from_a_checkpoint_of_another_architecture_fails_and_writes_no_model()
    {
        // Both heads are called fc.weight: only the backbone's keys tell shufflenet_v2 from resnet50.
        string weights = Path.Combine(trained.Model, "weights.pth");
        var result = ParticleGridProcess.Run("train", "--data", trained.Data, "--arch", "resnet50", "--out", Path.Combine(scratch, "model"),
            "--epochs", "1", "--input-size", "32", "--weights", weights);
        AssertFailsCleanly(result, weights, "is not a resnet50 checkpoint");
        Assert.False(Directory.Exists(Path.Combine(scratch, "model")));
    }

    [Fact]
    public void Evaluate_with_an_unreadable_image_fails_naming_it()
    {
        string data = CopyOfData();
        string broken = Path.Combine(data, "bubble", "bubble_00004.png");
        File.WriteAllText(broken, "not a png");
        AssertFailsCleanly(ParticleGridProcess.Run("evaluate", "--model", trained.Model, "--data", data), broken, "not a supported image");
    }

    [Fact]
    public void Evaluate_refuses_data_with_a_class_the_model_does_not_know()
    {
        string data = CopyOfData();
        string fibres = Directory.CreateDirectory(Path.Combine(data, "fibre")).FullName;
        File.Copy(Directory.GetFiles(Path.Combine(data, "glass"))[0], Path.Combine(fibres, "f.png"));
        AssertFailsCleanly(ParticleGridProcess.Run("evaluate", "--model", trained.Model, "--data", data), fibres, "not one of the model's classes");
    }

    [Fact]
    public void A_trailing_slash_on_out_names_the_folder_itself()
    {
        string again = Path.Combine(scratch, "again") + Path.DirectorySeparatorChar;
        var result = ParticleGridProcess.Run("train", "--data", trained.Data, "--arch", "shufflenet_v2", "--out", again,
            "--epochs", "1", "--input-size", "32", "--batch", "8");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["manifest.json", "out-of-scope-reference.bin", "weights.pth"], Directory.GetFiles(Path.Combine(scratch, "again")).Select(Path.GetFileName).Order());
        Assert.Equal(["again"], Directory.GetFileSystemEntries(scratch).Select(Path.GetFileName)); // no staging folder left
    }

    [Fact]
    public void Predict_with_two_folders_of_the_same_name_keeps_both_answers_apart()
    {
        string image = Directory.GetFiles(Path.Combine(trained.Data, "glass"))[0];
        var result = ParticleGridProcess.Run("predict", "--model", $"{trained.Model},{trained.Model}", image, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var models = JsonDocument.Parse(result.Output).RootElement[0].GetProperty("models");
        Assert.Equal(["model", "model#2"], models.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void A_manifest_missing_a_field_is_refused_in_one_line()
    {
        string copy = Path.Combine(scratch, "edited");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(trained.Model)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        string manifest = Path.Combine(copy, "manifest.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifest))!.AsObject();
        json.Remove("weightsSha256");
        File.WriteAllText(manifest, json.ToJsonString());
        string image = Directory.GetFiles(Path.Combine(trained.Data, "glass"))[0];
        AssertFailsCleanly(ParticleGridProcess.Run("predict", "--model", copy, image), manifest, "weightsSha256");
    }

    [Fact]
    public void Demo_refuses_a_folder_it_did_not_make()
    {
        File.WriteAllText(Path.Combine(scratch, "precious.txt"), "user data");
        AssertFailsCleanly(ParticleGridProcess.Run("demo", "--out", scratch), scratch, "not made by 'particlegrid demo'");
        Assert.True(File.Exists(Path.Combine(scratch, "precious.txt")));
    }

    [Fact]
    public void A_model_folder_whose_weights_were_changed_is_refused()
    {
        string copy = Path.Combine(scratch, "tampered");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(trained.Model)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        using (var weights = File.OpenWrite(Path.Combine(copy, "weights.pth"))) { weights.Seek(-10, SeekOrigin.End); weights.WriteByte(0x5A); }
        AssertFailsCleanly(ParticleGridProcess.Run("evaluate", "--model", copy, "--data", trained.Data), "weights.pth", "SHA-256");
    }

    [Fact]
    public void Train_refuses_to_overwrite_an_existing_model()
    {
        AssertFailsCleanly(ParticleGridProcess.Run("train", "--data", trained.Data, "--arch", "resnet50", "--out", trained.Model, "--input-size", "32"),
            trained.Model, "not empty");
        Assert.True(File.Exists(Path.Combine(trained.Model, "manifest.json")));
    }

    CommandResult TrainInto(string data, out string model, params string[] extra)
    {
        model = Path.Combine(scratch, "model");
        return ParticleGridProcess.Run(["train", "--data", data, "--arch", "shufflenet_v2", "--out", model, "--epochs", "1", "--input-size", "32", .. extra]);
    }

    static void AssertFailsCleanly(CommandResult result, string names, string cause)
    {
        Assert.True(result.ExitCode != 0, result.ToString());
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("loading images")).ToList();
        var error = Assert.Single(lines, l => l.StartsWith("error: "));
        Assert.Contains(names, error);
        Assert.Contains(cause, error);
        Assert.DoesNotContain("   at ", result.Error); // no stack trace
    }

    string CopyOfData()
    {
        string copy = Path.Combine(scratch, "data");
        foreach (var folder in Directory.GetDirectories(trained.Data))
        {
            string target = Directory.CreateDirectory(Path.Combine(copy, Path.GetFileName(folder))).FullName;
            foreach (var file in Directory.GetFiles(folder)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
        return copy;
    }

    static string Sha256(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));

    static string HashFolder(string root)
    {
        var lines = Directory.GetFiles(root, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => Path.GetRelativePath(root, f) + " " + Sha256(f));
        return string.Join('\n', lines);
    }
}
