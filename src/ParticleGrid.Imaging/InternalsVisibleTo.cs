using System.Runtime.CompilerServices;

// The tests draw single particles at a chosen size with the internal shapes to measure each type's signature.
[assembly: InternalsVisibleTo("ParticleGrid.Imaging.Tests")]
