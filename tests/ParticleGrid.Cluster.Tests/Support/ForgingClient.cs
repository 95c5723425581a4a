using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Session;
using ParticleGrid.Abstractions;

namespace ParticleGrid.Cluster.Tests.Support;

/// <summary>
/// A real Orleans client with the site's client certificate, rewritten as an attacker holding that certificate would
/// rewrite it: once <see cref="ForgeAs"/> is set, every message it sends names that grain as its sender instead of the
/// client (the header field the gateway forwards unchecked). Orleans writes its messages into a pipe here; the rewritten
/// bytes go on to TLS and the gateway.
/// </summary>
public sealed class ForgingClient : IAsyncDisposable
{
    private readonly IHost _host;

    private ForgingClient(IHost host) => _host = host;

    public IClusterClient Grains => _host.Services.GetRequiredService<IClusterClient>();

    /// <summary>The sender to write into each message from now on; null: the client's own (an honest client).</summary>
    public GrainId? ForgeAs { get; set; }

    public static async Task<ForgingClient> ConnectAsync(int gatewayPort, string clusterId, TlsSettings certificate)
    {
        var site = SiteCertificate.Load(certificate, PeerRole.Client);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        ForgingClient? forging = null;
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(new IPEndPoint(IPAddress.Loopback, gatewayPort));
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = SiteDefaults.ServiceId;
            });
            client.Services.AddParticleGridSerialization();
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
            client.UseTls(site.Local, tls => site.Configure(tls, PeerRole.Silo));
            // Added after TLS, so it sits inside it: it sees and rewrites the plain messages.
            client.Configure<ClientConnectionOptions>(o => o.ConfigureConnection(connection =>
            {
                var sessions = connection.ApplicationServices.GetRequiredService<SerializerSessionPool>();
                connection.Use(next => context => RewriteAsync(next, context, sessions, () => forging?.ForgeAs));
            }));
        });
        var host = builder.Build();
        forging = new ForgingClient(host);
        await host.StartAsync();
        return forging;
    }

    private static async Task RewriteAsync(ConnectionDelegate next, ConnectionContext connection, SerializerSessionPool sessions, Func<GrainId?> forgeAs)
    {
        var gateway = connection.Transport;
        var written = new Pipe();
        var pump = PumpAsync(written.Reader, gateway.Output, sessions, forgeAs);
        connection.Transport = new DuplexPipe(gateway.Input, written.Writer);
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = gateway;
            await written.Writer.CompleteAsync();
            await pump;
        }
    }

    /// <summary>Passes the preamble, then each message with its sender replaced (and its header length with it).</summary>
    private static async Task PumpAsync(PipeReader orleans, PipeWriter gateway, SerializerSessionPool sessions, Func<GrainId?> forgeAs)
    {
        bool preamble = true;
        try
        {
            while (true)
            {
                var read = await orleans.ReadAsync();
                var buffer = read.Buffer;
                while (true)
                {
                    if (buffer.Length < 8) break;
                    int first = Int32At(buffer, 0);
                    if (preamble)
                    {
                        if (buffer.Length < 4 + first) break;
                        Write(gateway, buffer.Slice(0, 4 + first));
                        buffer = buffer.Slice(4 + first);
                        preamble = false;
                        continue;
                    }
                    int headerLength = first, bodyLength = Int32At(buffer, 4);
                    if (buffer.Length < 8L + headerLength + bodyLength) break;
                    byte[] header = buffer.Slice(8, headerLength).ToArray();
                    if (forgeAs() is { } sender) header = WithSender(header, sender, sessions);
                    byte[] lengths = new byte[8];
                    BinaryPrimitives.WriteInt32LittleEndian(lengths, header.Length);
                    BinaryPrimitives.WriteInt32LittleEndian(lengths.AsSpan(4), bodyLength);
                    gateway.Write(lengths);
                    gateway.Write(header);
                    Write(gateway, buffer.Slice(8 + headerLength, bodyLength));
                    buffer = buffer.Slice(8L + headerLength + bodyLength);
                }
                orleans.AdvanceTo(buffer.Start, buffer.End);
                var flushed = await gateway.FlushAsync();
                if (read.IsCompleted || flushed.IsCompleted) break;
            }
        }
        catch (Exception)
        {
            // The gateway hung up: the client's side of the connection ends with it.
        }
        await orleans.CompleteAsync();
    }

    /// <summary>The header with its sending grain (after the flags and the message id) replaced by <paramref name="sender"/>.</summary>
    private static byte[] WithSender(byte[] header, GrainId sender, SerializerSessionPool sessions)
    {
        using var session = sessions.GetSession();
        int senderEnd = SenderEnd(header, session);
        var output = new ArrayBufferWriter<byte>();
        output.Write(header.AsSpan(0, 12));
        var writer = Writer.Create(output, session);
        IdSpanCodec.WriteRaw(ref writer, sender.Type.Value);
        IdSpanCodec.WriteRaw(ref writer, sender.Key);
        writer.Commit();
        output.Write(header.AsSpan(senderEnd));
        return output.WrittenSpan.ToArray();
    }

    private static int SenderEnd(byte[] header, SerializerSession session)
    {
        var reader = Reader.Create(header, session);
        reader.ReadUInt32();
        reader.ReadInt64();
        for (int id = 0; id < 2; id++)
        {
            uint length = reader.ReadVarUInt32();
            if (length == 0) continue;
            reader.ReadInt32();
            reader.ReadBytes(length);
        }
        return (int)reader.Position;
    }

    private static int Int32At(ReadOnlySequence<byte> buffer, int offset)
    {
        Span<byte> four = stackalloc byte[4];
        buffer.Slice(offset, 4).CopyTo(four);
        return BinaryPrimitives.ReadInt32LittleEndian(four);
    }

    private static void Write(PipeWriter output, ReadOnlySequence<byte> bytes)
    {
        foreach (var segment in bytes) output.Write(segment.Span);
    }

    public async ValueTask DisposeAsync()
    {
        using (var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            await Record.ExceptionAsync(() => _host.StopAsync(stopping.Token));
        _host.Dispose();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
