"""The model and everything that turns a contact into its prediction: the network
(:mod:`.modeling`), the prepared input (:mod:`.features`, :mod:`.salience`), the TF-IDF baseline and
its blend, the inference backends (:mod:`.runtime`, :mod:`.export`), the bundle format on disk
(:mod:`.bundle`), and the predictors for one-shot and live use (:mod:`.predictor`, :mod:`.live`)."""
