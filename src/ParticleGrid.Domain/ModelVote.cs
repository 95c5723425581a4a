namespace ParticleGrid.Domain;

/// <summary>
/// One network's vote on one particle: the record a worker gives, the store keeps (as JSON, in this shape) and the API
/// shows, unchanged on the way.
/// </summary>
/// <param name="Model">The network's name in its model set ("resnet50").</param>
/// <param name="Version">The model's version (architecture@weights-sha).</param>
/// <param name="Probabilities">Softmax probabilities in the model set's class order.</param>
/// <param name="Vote">The class the network alone would pick (folder name).</param>
/// <param name="OutOfScopeRatio">The network's out-of-scope score over its threshold (null: a model without a reference, or
/// a particle recorded before the score existed). Kept with the vote, so a lot's shift can be measured from the ledger.</param>
public sealed record ModelVote(string Model, string Version, IReadOnlyList<float> Probabilities, string Vote, double? OutOfScopeRatio = null);
