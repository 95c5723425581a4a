using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Connections.Security;
using Orleans.Serialization;

namespace ParticleGrid.Abstractions;

// What a site's silos and every client (the CLI, particlegrid-ingest on an instrument PC) must agree on to talk:
// here, once, so neither side keeps a copy that could drift.

/// <summary>The defaults a silo listens with and a client connects with.</summary>
public static class SiteDefaults
{
    public const string ClusterId = "particlegrid", ServiceId = "particlegrid";

    /// <summary>The Orleans client gateway port of a site's gateway silos.</summary>
    public const int GatewayPort = 30000;
}

/// <summary>The serializer set-up of silos and clients alike.</summary>
public static class ParticleGridSerialization
{
    /// <summary>
    /// Domain records (lot profiles, votes) cross grain calls as JSON, so Domain needs no Orleans attribute; grain
    /// contracts use Orleans' own codecs. Silos and clients must register the same, or a lot profile does not deserialize.
    /// </summary>
    public static IServiceCollection AddParticleGridSerialization(this IServiceCollection services) =>
        services.AddSerializer(serializer => serializer.AddJsonSerializer(
            isSupported: type => type.Namespace?.StartsWith("ParticleGrid.Domain", StringComparison.Ordinal) == true));
}

/// <summary>TLS for silo-to-silo and client-to-gateway traffic: a PFX file (mounted from a Secret) and its password.</summary>
public sealed class TlsSettings
{
    /// <summary>The site certificate with its private key (PFX). Unset: no TLS.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
}

/// <summary>
/// The site certificate every silo and client presents and requires. A peer is trusted when its certificate chains
/// to a trusted root without errors, or when it is the site certificate itself (a self-signed one shared by the
/// site's silos and clients, the usual Kubernetes Secret).
/// </summary>
public static class SiteCertificate
{
    public static X509Certificate2 Load(TlsSettings settings)
    {
        string path = settings.CertificatePath!;
        if (!File.Exists(path)) throw new ArgumentException($"TLS certificate {path} not found (ParticleGrid:Tls:CertificatePath)");
        try
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, settings.CertificatePassword, X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new ArgumentException($"TLS certificate {path} cannot be read (a PFX with its private key, and the right password?): {e.Message}");
        }
    }

    /// <summary>Requires a certificate on both sides and trusts as described above.</summary>
    public static void Configure(TlsOptions tls, X509Certificate2 site)
    {
        tls.LocalCertificate = site;
        tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.RemoteCertificateValidation = (remote, _, errors) => Trusts(site, remote, errors);
    }

    public static bool Trusts(X509Certificate2 site, X509Certificate2? remote, SslPolicyErrors errors) =>
        remote is not null && (errors == SslPolicyErrors.None || remote.Thumbprint == site.Thumbprint);
}
