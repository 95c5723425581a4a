using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Connections.Security;
using Orleans.Serialization;

namespace ParticleGrid.Ingestion;

/// <summary>
/// What a client must agree on with the site's silos. The silos take these from <c>ParticleGridOptions</c> in
/// ParticleGrid.Host, which this library must not reference (it would bring the server, ASP.NET Core and the
/// grains onto an instrument PC); tests/ParticleGrid.Cli.Tests/IngestClientTests holds the two equal.
/// </summary>
public static class SiteDefaults
{
    public const string ClusterId = "particlegrid", ServiceId = "particlegrid";

    /// <summary>The Orleans client gateway port of a site's gateway silos.</summary>
    public const int GatewayPort = 30000;
}

/// <summary>The serializer set-up a client needs to call the site's grains.</summary>
public static class ClientSerialization
{
    /// <summary>
    /// Domain records (lot profiles) cross grain calls as JSON; grain contracts use Orleans' own codecs. The silos
    /// register the same in <c>ParticleGridSilo.AddParticleGridSerialization</c> (ParticleGrid.Host, which a client
    /// cannot reference without the server); the two must agree or a lot profile does not deserialize.
    /// </summary>
    public static IServiceCollection AddParticleGridClientSerialization(this IServiceCollection services) =>
        services.AddSerializer(serializer => serializer.AddJsonSerializer(
            isSupported: type => type.Namespace?.StartsWith("ParticleGrid.Domain", StringComparison.Ordinal) == true));
}

/// <summary>
/// The client's side of the site's TLS (PARTICLEGRID__TLS__CERTIFICATEPATH): the site certificate, presented and
/// required, trusted as the silos trust it (<c>SiteCertificate</c> in ParticleGrid.Host): a chain without errors,
/// or the site certificate itself (a self-signed one shared by the site's silos and clients).
/// </summary>
public static class ClientCertificate
{
    public static X509Certificate2 Load(string path, string? password)
    {
        if (!File.Exists(path)) throw new ArgumentException($"TLS certificate {path} not found (ParticleGrid:Tls:CertificatePath)");
        try
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new ArgumentException($"TLS certificate {path} cannot be read (a PFX with its private key, and the right password?): {e.Message}");
        }
    }

    public static void Configure(TlsOptions tls, X509Certificate2 site)
    {
        tls.LocalCertificate = site;
        tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.RemoteCertificateValidation = (remote, _, errors) =>
            remote is not null && (errors == SslPolicyErrors.None || remote.Thumbprint == site.Thumbprint);
    }
}
