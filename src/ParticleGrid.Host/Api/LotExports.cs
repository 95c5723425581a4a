using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using ParticleGrid.Domain;
using ParticleGrid.Storage;

namespace ParticleGrid.Host.Api;

/// <summary>
/// Lot profiles and particle lists as CSV, and reviewed particles as a training set. A profile is small and is built
/// whole; particle lists and training sets grow with the lot, so they are written to the response row by row as the
/// store reads them (issue 16: a 300k-particle lot took the server to 0.96 GB when they were built in memory).
/// </summary>
public static class LotExports
{
    /// <summary>How many bytes of CSV are gathered before they are sent on: few enough to stay small, enough to keep writes large.</summary>
    private const int CsvFlushBytes = 64 * 1024;

    public static string ProfileCsv(LotProfile profile)
    {
        var csv = new StringBuilder("lot,type,counts_as_particle,at_or_above_um,count,per_ml,per_container\n");
        foreach (var row in profile.Types.Append(profile.ParticlesExcludingBubbles).Append(profile.ParticlesExcludingBubblesAndSiliconeOil))
        {
            foreach (var size in row.SizeClasses)
                csv.AppendLine(Row(profile.Lot, row.Type, row.CountsAsParticle ? "true" : "false", Number(size.AtOrAboveMicrometres), size.Count.ToString(CultureInfo.InvariantCulture), Number(size.PerMl), Number(size.PerContainer)));
        }
        csv.AppendLine();
        csv.AppendLine("verdict,basis,at_or_above_um,limit,unit,measured,passes,worst_case,worst_case_passes");
        foreach (var check in profile.Verdict.Checks)
            csv.AppendLine(Row(profile.Verdict.Outcome.ToString(), profile.Verdict.Basis, Number(check.SizeMicrometres), Number(check.Limit), check.Unit, Number(check.Measured),
                check.Passes ? "true" : "false", Number(check.WorstCase), check.WorstCasePasses ? "true" : "false"));
        if (profile.Verdict.Checks.Count == 0) csv.AppendLine(Row(profile.Verdict.Outcome.ToString(), profile.Verdict.Basis, "", "", "", "", "", "", ""));

        // Every reason on its own line, so a spreadsheet shows why a lot is not assessable (or what a Pass stood despite).
        csv.AppendLine();
        csv.AppendLine("verdict,reason");
        foreach (var reason in profile.Verdict.Reasons) csv.AppendLine(Row(profile.Verdict.Outcome.ToString(), reason));
        return csv.ToString();
    }

    public const string ParticlesCsvHeader =
        "run_id,particle_id,lot_id,instrument_id,type,classified_type,reviewed_label,probability,uncertain,uncertain_reason,ecd_um,size_source,aspect_ratio,circularity,model_set_version,image_sha256,failure\n";

    /// <summary>One particle's CSV line, without its line end.</summary>
    public static string ParticleCsvRow(ParticleView p) =>
        Row(p.RunId, p.ParticleId, p.LotId, p.InstrumentId, p.Type, p.ClassifiedType, p.ReviewedLabel, Number(p.Probability),
            p.IsUncertain ? "true" : "false", p.UncertainReason, Number(p.EcdMicrometres), p.SizeSource, Number(p.AspectRatio), Number(p.Circularity),
            p.ModelSetVersion, p.ImageSha256, p.Failure);

    /// <summary>
    /// The particles as CSV (UTF-8, no byte order mark), written as they come: the header, then a line per particle
    /// ending as <see cref="StringBuilder.AppendLine()"/> ends it, as the export always has.
    /// </summary>
    public static async Task WriteParticlesCsvAsync(Stream body, IAsyncEnumerable<ParticleView> particles, CancellationToken cancellation)
    {
        await using var csv = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 16 * 1024, leaveOpen: true);
        await csv.WriteAsync(ParticlesCsvHeader);
        int pending = 0;
        await foreach (var p in particles.WithCancellation(cancellation))
        {
            string line = ParticleCsvRow(p);
            await csv.WriteLineAsync(line);
            pending += line.Length;
            if (pending < CsvFlushBytes) continue;
            await csv.FlushAsync(cancellation);
            pending = 0;
        }
        await csv.FlushAsync(cancellation);
    }

    /// <summary>
    /// The lot's reviewed particles as a training set: one folder per label with the images as received, and
    /// manifest.json saying who labelled each, when and why. Unzipped, <c>particlegrid train --data</c> takes it.
    /// </summary>
    /// <remarks>
    /// Written to <paramref name="body"/> entry by entry, so one image at a time is in memory; only the manifest's
    /// lines (a few hundred bytes per reviewed particle) are kept until the end, where manifest.json is written last.
    /// On a stream that cannot seek the archive carries each entry's sizes after its data (a data descriptor): the
    /// same files, which every unzip reads.
    /// </remarks>
    public static async Task WriteTrainingSetAsync(Stream body, string lot, IAsyncEnumerable<ReviewedImage> reviewed, CancellationToken cancellation)
    {
        var manifest = new List<object>();
        // ZipArchive writes synchronously (in .NET 10 an entry's stream still closes with a synchronous write, async
        // API or not), and the response body refuses synchronous writes: the archive writes into this buffer, and
        // the buffer is sent on after each entry.
        using var pending = new DrainedAfterEachEntry(body);
        using (var archive = new ZipArchive(pending, ZipArchiveMode.Create, leaveOpen: true))
        {
            await foreach (var (review, image) in reviewed.WithCancellation(cancellation))
            {
                string file = $"{review.Label}/{Safe(review.RunId)}_{Safe(review.ParticleId)}{Extension(image)}";
                var entry = archive.CreateEntry(file, CompressionLevel.Fastest);
                using (var stream = entry.Open()) stream.Write(image);
                manifest.Add(new { file, label = review.Label, previousLabel = review.PreviousLabel, reviewer = review.Reviewer, atUtc = review.AtUtc,
                    reason = review.Reason, runId = review.RunId, particleId = review.ParticleId, reviewSequence = review.Sequence });
                await pending.DrainAsync(cancellation);
            }
            var manifestEntry = archive.CreateEntry("manifest.json");
            using var writer = new StreamWriter(manifestEntry.Open());
            writer.Write(JsonSerializer.Serialize(new { format = "particlegrid-training-set/1", lot, createdUtc = DateTimeOffset.UtcNow, particles = manifest },
                new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
        }
        // The manifest and the central directory, written when the archive closed.
        await pending.DrainAsync(cancellation);
    }

    /// <summary>A write-only stream that keeps what is written until <see cref="DrainAsync"/> sends it on; it cannot seek.</summary>
    private sealed class DrainedAfterEachEntry(Stream destination) : Stream
    {
        private readonly MemoryStream _buffer = new();

        public async Task DrainAsync(CancellationToken cancellation)
        {
            if (_buffer.Length == 0) return;
            await destination.WriteAsync(_buffer.GetBuffer().AsMemory(0, (int)_buffer.Length), cancellation);
            _buffer.SetLength(0);
        }

        public override void Write(byte[] buffer, int offset, int count) => _buffer.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => _buffer.Write(buffer);

        public override void Flush() { }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _buffer.Dispose();
            base.Dispose(disposing);
        }
    }

    private static string Safe(string id) => id.Replace(':', '_');

    private static string Extension(byte[] image) => image switch
    {
        [0x89, 0x50, 0x4E, 0x47, ..] => ".png",
        [0xFF, 0xD8, ..] => ".jpg",
        [0x42, 0x4D, ..] => ".bmp",
        [0x47, 0x49, 0x46, ..] => ".gif",
        _ => ".tif",
    };

    private static string Number(double? value) => value?.ToString("G10", CultureInfo.InvariantCulture) ?? "";

    private static string Row(params string?[] cells) => string.Join(',', cells.Select(c =>
        c is null ? "" : c.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{c.Replace("\"", "\"\"")}\"" : c));
}
