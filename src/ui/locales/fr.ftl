# Salama : français. Chaque identifiant doit exister dans ar.ftl et en.ftl (un test le vérifie).
# Avant ? ! : ; l’espace est une espace fine insécable (U+202F), et avant « * » une insécable (U+00A0) : le signe ne commence jamais une ligne.
language-name = Français
skip-to-content = Aller au contenu principal
leave-quickly = Quitter rapidement
lang-switch-label = Langue
nav-label = Pages principales
nav-report = Signaler
nav-about = Et ensuite ?
nav-help = Se protéger
site-tagline = Signalez anonymement les abus sexuels sur enfants en ligne.

choose-title = Choisissez votre langue
choose-intro = Signalez les contenus d’abus sexuels sur enfants et l’exploitation d’enfants en ligne. Anonyme, sans compte, sans cookies.

home-title = Signaler un abus sexuel sur enfant en ligne
home-intro = Vous avez vu en ligne des images ou des vidéos sexuelles d’un enfant, ou quelqu’un qui agresse, manipule ou fait chanter un enfant ? Dites-nous où. Vous n’avez pas à dire qui vous êtes.
never-title = Ne téléchargez, ne copiez et ne transférez jamais les images ou vidéos, et n’en faites jamais de capture d’écran
never-body = Même pour les signaler : dans la plupart des pays, c’est en soi un délit. L’adresse web (URL) nous suffit.
form-title = Votre signalement
form-required = Les champs marqués d’un * sont obligatoires.
urls-label = Adresses web (URL) *
urls-hint = Une par ligne, 10 au maximum. Copiez-les depuis la barre d’adresse, par exemple https://example.com/page
category-legend = Qu’avez-vous vu ? *
category-abuse-imagery = Des images ou vidéos sexuelles d’un enfant
category-grooming = Un adulte qui manipule un enfant ou cherche un contact sexuel avec lui (pédopiégeage)
category-sextortion = Sextorsion : quelqu’un menace de diffuser des images sexuelles d’un enfant
category-other-harm = Autre atteinte à un enfant en ligne
where-legend = Où l’avez-vous vu ?
where-not-said = Je préfère ne pas le dire
where-website = Un site web
where-social-network = Un réseau social
where-messaging-app = Une application de messagerie
where-search-engine = Les résultats d’un moteur de recherche
where-other = Ailleurs
description-label = Autre chose à nous dire ?
description-hint = Facultatif, { $max } caractères au maximum. N’écrivez ni votre nom ni vos coordonnées.
optional = facultatif
submit = Envoyer le signalement
privacy-note = Ce site n’utilise ni cookies ni scripts, ne garde aucun journal et ne sait jamais qui vous êtes. Votre signalement est verrouillé avec les clés des analystes dès son arrivée.

errors-title = Votre signalement n’est pas encore envoyé. Vérifiez :
error-prefix = Erreur :
err-url-missing = Indiquez au moins une adresse web.
err-url-too-many = Indiquez 10 adresses web au maximum.
err-url-invalid = La ligne { $line } n’est pas une adresse web. Elle doit ressembler à https://example.com/page
err-url-scheme = La ligne { $line } doit commencer par http:// ou https://
err-url-too-long = La ligne { $line } dépasse { $max } caractères.
err-category-missing = Choisissez ce que vous avez vu.
err-category-invalid = Choisissez l’une des options proposées.
err-where-invalid = Choisissez l’une des options proposées.
err-description-too-long = Raccourcissez ce texte à { $max } caractères au plus.
err-description-control = Ce texte contient des caractères qui ne peuvent pas être envoyés. Saisissez-le de nouveau.
err-report-too-large = Ce signalement est trop long. Retirez quelques adresses et envoyez-les dans un second signalement.

thanks-title = Merci. Votre signalement a bien été reçu.
thanks-body = Il est conservé en sécurité, verrouillé pour que seuls les analystes de la ligne de signalement puissent le lire.
receipt-label = Votre code de reçu :
receipt-explain = Notez-le si vous souhaitez contacter { $org } au sujet de ce signalement. Il n’est affiché qu’une fois et n’est pas lié à vous.
thanks-close = Vous pouvez fermer cette page. Pour ne laisser aucune trace, fermez le Navigateur Tor.
thanks-another = Signaler autre chose

about-title = Et ensuite ?
about-next-title = Ce que devient votre signalement
about-next-body = Les analystes de { $org } examinent chaque signalement. Quand le contenu est illégal, ils le font retirer et transmettent les informations à la police et aux lignes de signalement partenaires d’autres pays.
about-never-title = Ce que nous ne savons jamais
about-never-body = Qui vous êtes. Ce service n’est accessible que par Tor. Il n’a ni comptes, ni cookies, ni scripts, ne garde aucun journal et n’enregistre que le jour d’arrivée d’un signalement, pas l’heure.
about-receipt-title = Votre code de reçu
about-receipt-body = Après l’envoi, vous recevez un code court. Si vous contactez { $org } au sujet de votre signalement, donnez ce code pour qu’ils le retrouvent. Personne ne peut s’en servir pour vous retrouver.
about-lock-title = Comment votre signalement est protégé
about-lock-body = Votre signalement est verrouillé (chiffré) dès son arrivée, avec des clés que seuls les analystes détiennent, sur un ordinateur jamais connecté. Même une personne qui saisirait ce serveur ne pourrait pas le lire.

help-title = Se protéger en ligne
help-children-title = Si tu es un enfant ou un adolescent
help-children-1 = Ce n’est jamais de ta faute, même si tu as envoyé une photo toi-même.
help-children-2 = Si quelqu’un menace de diffuser tes photos, ne paie pas et n’envoie rien de plus. Arrête de répondre, garde les messages et parles-en à un adulte de confiance.
help-children-3 = Bloque et signale le compte dans l’application concernée.
help-children-4 = N’accepte jamais de rencontrer quelqu’un que tu connais seulement en ligne sans un adulte de confiance.
help-parents-title = Pour les parents et les proches
help-parents-1 = Parlez souvent et calmement avec vos enfants de ce qu’ils font en ligne, pour qu’ils viennent vers vous en cas de problème.
help-parents-2 = Si votre enfant est menacé ou victime d’abus, restez calme, ne le culpabilisez pas, gardez les preuves (messages, pseudonymes, adresses web) sans copier aucune image, et contactez la police.
help-parents-3 = Utilisez les réglages de confidentialité des applications et des jeux de vos enfants.
help-parents-4 = Si vous trouvez des images sexuelles d’un enfant, signalez l’adresse web ici. Ne partagez pas et n’enregistrez pas les images.
help-where-title = Où trouver de l’aide
help-where-default = Si un enfant est en danger immédiat, appelez la police. Pour du soutien, contactez une ligne d’écoute pour enfants de votre pays.

full-title = Nous ne pouvons pas recevoir de signalements pour le moment
full-body = Le service ne peut temporairement pas accepter de signalements. Réessayez plus tard. Ce que vous avez envoyé auparavant n’est pas touché.
busy-title = Le service est très sollicité
busy-body = Trop de personnes utilisent le service en ce moment. Patientez une minute puis réessayez.
notfound-title = Page introuvable
notfound-body = Cette page n’existe pas.
badrequest-title = Votre navigateur a envoyé quelque chose d’illisible
badrequest-body = Le signalement n’a pas pu être lu. Revenez au formulaire et envoyez-le de nouveau.
toolarge-title = Envoi trop volumineux
toolarge-body = Le signalement dépasse la taille acceptée par ce service. Raccourcissez la description ou envoyez moins d’adresses.
method-title = Non autorisé
method-body = Cette page ne peut pas être utilisée de cette façon.
timeout-title = La connexion était trop lente
timeout-body = Le signalement n’est pas arrivé en entier. Réessayez.
unsupported-title = Formulaire non pris en charge
unsupported-body = Utilisez le formulaire de signalement de ce site.
back-to-form = Retour au formulaire
home-link = Aller à la page d’accueil
# The organisation's name when the operator has not configured one.
organisation-default = la ligne de signalement

# Per-circuit limits (src/web/admission.rs): the 429 "please wait a moment".
wait-title = Patientez un instant
wait-body = Trop de demandes sont venues de votre connexion en peu de temps. Patientez une minute, puis réessayez.
wait-form-body = Votre signalement n’est pas encore envoyé : plusieurs sont arrivés très vite depuis votre connexion, et ce service n’en accepte que quelques-uns à la fois d’une même connexion. Tout ce que vous avez écrit se trouve ci-dessous. Patientez un instant (moins d’une minute), puis appuyez de nouveau sur « Envoyer le signalement ».
