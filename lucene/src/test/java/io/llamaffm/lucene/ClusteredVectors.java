package io.llamaffm.lucene;

import java.util.Random;

/** Seeded clustered vectors: Gaussian noise of a given spread around random unit centres. */
final class ClusteredVectors {
    private ClusteredVectors() {}

    static float[][] generate(int n, int dim, int clusters, double spread, long seed) {
        Random random = new Random(seed);
        float[][] centres = new float[clusters][dim];
        for (float[] c : centres) {
            double norm = 0;
            for (int j = 0; j < dim; j++) {
                c[j] = (float) random.nextGaussian();
                norm += c[j] * c[j];
            }
            for (int j = 0; j < dim; j++) {
                c[j] /= (float) Math.sqrt(norm);
            }
        }
        float[][] out = new float[n][dim];
        double sigma = spread / Math.sqrt(dim);
        for (int i = 0; i < n; i++) {
            float[] c = centres[random.nextInt(clusters)];
            for (int j = 0; j < dim; j++) {
                out[i][j] = (float) (c[j] + sigma * random.nextGaussian());
            }
        }
        return out;
    }
}
