namespace ParticleGrid.Grains;

/// <summary>The grain storage providers the grains name.</summary>
public static class StorageNames
{
    /// <summary>Durable grain state: SQLite under the data directory embedded, ADO.NET on PostgreSQL in a cluster.</summary>
    public const string Grains = "particlegrid";
}
