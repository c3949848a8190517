# Bureau Salama (la page des analystes) : français. Chaque id doit exister dans desk-ar.ftl et desk-en.ftl.
desk-brand = Bureau Salama
desk-queue-title = File d’attente
desk-never-open = Les adresses sont affichées en texte, exprès. Ne les ouvrez jamais sur ce poste.
desk-import-title = Importer un lot
desk-import-path = Chemin du fichier du lot sur ce poste
desk-import-button = Importer
desk-imported = { $added ->
        [one] { $added } signalement ou complément importé
       *[other] { $added } signalements et compléments importés
    } du lot { $digest }.
desk-imported-dupes = { $dupes } d’entre eux étaient déjà dans le registre, venus d’un lot précédent.
desk-imported-again = Ce lot a déjà été importé le { $day }.
desk-imported-purge = Une fois le tri fait, donnez cette empreinte à l’opérateur pour qu’il le purge du serveur :
desk-import-failed = Le lot n’a pas été importé
desk-already-assessed-list = Ces adresses du lot étaient déjà évaluées ; inutile de les revoir :
desk-filter-title = Filtrer
desk-filter-status = État
desk-filter-category = Catégorie
desk-filter-language = Langue
desk-filter-any = Toutes
desk-filter-button = Afficher
desk-status-unassessed = Pas encore évaluées
desk-status-reported-again = Évaluées, signalées de nouveau
desk-status-assessed = Évaluées
desk-status-all = Toutes
desk-count = { $total ->
        [one] { $total } adresse
       *[other] { $total } adresses
    }
desk-col-reports = Signalements
desk-col-url = Adresse
desk-col-first = Vue la première fois
desk-col-last = Vue la dernière fois
desk-col-state = Évaluation
desk-assess-link = Évaluer
desk-already = Déjà évaluée le { $day } comme { $as } par { $by }.
desk-nothing = Rien à afficher.
desk-next = Page suivante
desk-prev = Page précédente
desk-url-title = Évaluer une adresse
desk-reports-naming = Signalements qui citent cette adresse
desk-report-received = Reçu
desk-report-language = Langue
desk-report-category = Catégorie
desk-report-description = Description
desk-report-typed = Saisie
desk-report-answer-link = Répondre à la personne qui signale
desk-field-classification = Classification
desk-field-site-type = Type de site
desk-field-content-type = Type de contenu
desk-field-age-group = Tranche d’âge
desk-field-gender = Genre
desk-field-flags = Indicateurs
desk-field-virtual = Virtuel (dessin, image de synthèse)
desk-field-child-modelling = Mannequinat d’enfant
desk-field-user-generated = Produit par l’utilisateur
desk-field-hosting-country = Pays d’hébergement (deux lettres, comme NL), s’il est connu
desk-field-iwf-category = Catégorie IWF (facultatif)
desk-field-note = Note
desk-none = Non renseigné
desk-save = Enregistrer l’évaluation
desk-saved = Enregistré.
desk-fix = L’évaluation n’a pas été enregistrée. À corriger :
desk-err-required = Choisissez une valeur.
desk-err-choice = Choisissez une des valeurs proposées.
desk-err-country = Deux lettres, comme NL ou FR.
desk-err-note-long = La note est trop longue.
desk-err-iwf-not-illegal = Une catégorie IWF ne s’applique qu’à un contenu illégal.
desk-class-baseline = Baseline (illégal partout)
desk-class-national = Illégal en droit national
desk-class-not-illegal = Pas illégal
desk-site-website = Site web
desk-site-file-host = Hébergeur de fichiers
desk-site-image-store = Magasin d’images
desk-site-image-board = Forum d’images
desk-site-forum = Forum
desk-site-banner-site = Site de bannières
desk-site-link-site = Site de liens
desk-site-social-network = Réseau social
desk-site-redirector = Redirecteur
desk-site-web-archive = Archive web
desk-site-search-provider = Moteur de recherche
desk-site-image-hosting = Hébergement d’images
desk-site-blog = Blog
desk-site-webpage = Page web
desk-content-images = Images
desk-content-videos = Vidéos
desk-content-other = Autre
desk-age-infant = Nourrisson
desk-age-pre-pubescent = Prépubère
desk-age-pubescent = Pubère
desk-age-not-determined = Indéterminé
desk-gender-female = Fille
desk-gender-male = Garçon
desk-gender-both = Les deux
desk-gender-not-determined = Indéterminé
desk-iwf-a = Catégorie A
desk-iwf-b = Catégorie B
desk-iwf-c = Catégorie C
desk-report-title = Répondre à une personne qui signale
desk-answer-status = Ce qui est dit à la personne
desk-answer-reply = Réponse toute faite (traduite pour la personne)
desk-answer-text = Vos propres mots (facultatif)
desk-answer-save = Enregistrer la réponse
desk-answer-current = Répondu le { $day } par { $by }.
desk-astatus-received = Reçu
desk-astatus-being-assessed = En cours d’évaluation
desk-astatus-action-taken = Mesures prises
desk-astatus-outside-remit = Hors de ce que nous pouvons traiter
desk-astatus-need-more-info = Il nous faut plus d’informations
desk-reply-thanks = Merci
desk-reply-removed = Retiré
desk-reply-police = Transmis à la police
desk-reply-not-illegal = Pas illégal
desk-reply-not-found = Introuvable
desk-reply-need-platform-account = Il nous faut la plateforme et le compte
desk-reply-get-help = Trouver de l’aide
desk-reply-passed-abroad = Transmis à une ligne d’urgence à l’étranger
desk-export-title = Exports
desk-export-button = Écrire les exports
desk-export-written = Écrits (chacun un nouveau fichier, lisible par vous seul) :
desk-export-answers-off = Pas de fichier de réponses : lancez le bureau avec --signing-key pour en écrire un.
desk-export-answers-skipped = Pas de fichier de réponses : { $why }
desk-bundles = { $bundles ->
        [one] { $bundles } lot
       *[other] { $bundles } lots
    }, { $reports ->
        [one] { $reports } signalement
       *[other] { $reports } signalements
    }, { $urls ->
        [one] { $urls } adresse
       *[other] { $urls } adresses
    }, { $assessed ->
        [one] { $assessed } évaluée
       *[other] { $assessed } évaluées
    }.
desk-not-found = Introuvable.
desk-bad-request = Cette requête n’a pas pu être lue.
